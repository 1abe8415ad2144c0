import BerthCore
import Foundation
import Testing

@testable import BerthCompose

@Suite("Compose env files")
struct ComposeEnvFileTests {
    private func parse(_ text: String, lookup: [String: String] = [:]) throws -> [String: String?] {
        var result: [String: String?] = [:]
        for variable in try EnvFile.parse(text, file: ".env", lookup: lookup) { result[variable.name] = variable.value }
        return result
    }

    @Test func readsCommentsExportQuotesAndBareKeys() throws {
        let text = """
            # a comment
              INDENTED=yes
            export EXPORTED=1
            PLAIN=some value   # trailing comment
            HASH=a#b
            SINGLE='its $NOT ${X}'
            DOUBLE="line\\nnext \\"quoted\\" \\\\ tab\\t"
            EMPTY=
            SPACED = around
            BARE

            URL=http://example.com/?a=b&c=d
            """
        let variables = try parse(text)
        #expect(variables["INDENTED"] == "yes")
        #expect(variables["EXPORTED"] == "1")
        #expect(variables["PLAIN"] == "some value")
        #expect(variables["HASH"] == "a#b")
        #expect(variables["SINGLE"] == "its $NOT ${X}")
        #expect(variables["DOUBLE"] == "line\nnext \"quoted\" \\ tab\t")
        #expect(variables["EMPTY"] == "")
        #expect(variables["SPACED"] == "around")
        #expect(variables["BARE"] == .some(nil))
        #expect(variables["URL"] == "http://example.com/?a=b&c=d")
        #expect(variables.count == 10)
    }

    @Test func singleQuotesKeepEverythingAndMaySpanLines() throws {
        let variables = try parse("KEY='first\nsecond # not a comment'\nNEXT=1")
        #expect(variables["KEY"] == "first\nsecond # not a comment")
        #expect(variables["NEXT"] == "1")
    }

    @Test func unquotedAndDoubleQuotedValuesAreInterpolatedFromEarlierLinesThenTheEnvironment() throws {
        let variables = try parse("HOST=db\nURL=postgres://${HOST}:${PORT:-5432}/x\nQUOTED=\"$HOST\"\nRAW='$HOST'", lookup: ["PORT": "6000"])
        #expect(variables["URL"] == "postgres://db:6000/x")
        #expect(variables["QUOTED"] == "db")
        #expect(variables["RAW"] == "$HOST")
    }

    @Test(
        arguments: [
            ("A=1\nB C", ".env:2:3: expected `=` after `B`"), ("A=\"open", ".env:1:3: the quoted value starting here is never closed"),
            ("A='x' y", ".env:1:7: unexpected text after the closing quote"), ("=1", ".env:1:1: expected `KEY=VALUE`"),
        ])
    func malformedLinesFailWithPosition(text: String, prefix: String) {
        #expect {
            try EnvFile.parse(text, file: ".env", lookup: [:])
        } throws: { error in
            (error as? ComposeError)?.description.hasPrefix(prefix) == true
        }
    }

    @Test func processEnvironmentWinsOverDotEnvAndEnvFileOptionReplacesIt() throws {
        let fixture = try LoaderFixture()
        try fixture.write("compose.yaml", "services:\n  web:\n    image: ${IMAGE}:${TAG}\n    environment:\n      - FROM_ENV=${ONLY_IN_FILE}\n")
        try fixture.write(".env", "IMAGE=from-dotenv\nTAG=1\nONLY_IN_FILE=file\n")
        try fixture.write("other.env", "IMAGE=from-other\nTAG=2\n")
        let project = try fixture.load(environment: ["TAG": "process"])
        #expect(project.document.at("services.web.image")?.stringValue == "from-dotenv:process")
        #expect(project.document.at("services.web.environment.FROM_ENV")?.stringValue == "file")
        let other = try fixture.load(envFiles: ["other.env"])
        #expect(other.document.at("services.web.image")?.stringValue == "from-other:2")
    }

    @Test func aMissingEnvFileOptionFails() throws {
        let fixture = try LoaderFixture()
        try fixture.write("compose.yaml", "services:\n  web:\n    image: x\n")
        #expect(throws: ComposeError.self) { try fixture.load(envFiles: ["missing.env"]) }
    }

    @Test func serviceEnvFilesAreReadInOrderUnderEnvironment() throws {
        let fixture = try LoaderFixture()
        try fixture.write(
            "compose.yaml",
            """
            services:
              web:
                image: x
                env_file:
                  - conf/a.env
                  - path: conf/b.env
                  - path: conf/missing.env
                    required: false
                environment:
                  OWN: own
            """)
        try fixture.write("conf/a.env", "A=a\nSHARED=from-a\nOWN=from-a\nFROM_PROCESS\n")
        try fixture.write("conf/b.env", "SHARED=from-b\n")
        let project = try fixture.load(environment: ["FROM_PROCESS": "p"])
        let environment = try #require(project.document.at("services.web.environment"))
        #expect(environment.plain == #"{"A":"a","SHARED":"from-b","OWN":"own","FROM_PROCESS":"p"}"#)
        #expect(project.document.at("services.web.env_file") == nil)
    }

    @Test func aMissingRequiredServiceEnvFileNamesTheField() throws {
        let fixture = try LoaderFixture()
        let file = try fixture.write("compose.yaml", "services:\n  web:\n    image: x\n    env_file: missing.env\n")
        let error = try #require(fixture.loadError())
        #expect(error.description.hasPrefix("\(file):4:15: services.web.env_file[0]: cannot read \(fixture.directory)/missing.env"))
    }
}
