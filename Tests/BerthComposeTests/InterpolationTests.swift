import BerthCore
import Foundation
import Testing

@testable import BerthCompose

@Suite("Compose interpolation")
struct ComposeInterpolationTests {
    static let environment = ["A": "a", "E": "", "SPACE": "x y"]

    static let cases: [(String, String)] = [
        ("$A", "a"), ("${A}", "a"), ("x$A-y", "xa-y"), ("$A$A", "aa"), ("${A}b", "ab"),
        ("${U:-d}", "d"), ("${E:-d}", "d"), ("${A:-d}", "a"), ("${U:-}", ""),
        ("${U-d}", "d"), ("${E-d}", ""), ("${A-d}", "a"),
        ("${A:?m}", "a"), ("${E?m}", ""), ("${A?m}", "a"),
        ("${A:+alt}", "alt"), ("${E:+alt}", ""), ("${U:+alt}", ""),
        ("${A+alt}", "alt"), ("${E+alt}", "alt"), ("${U+alt}", ""),
        ("${U:-${A}}", "a"), ("${U:-${V:-deep}}", "deep"), ("${U:-pre ${A} post}", "pre a post"), ("${A:+[$A]}", "[a]"),
        ("$$", "$"), ("$$A", "$A"), ("$${A}", "${A}"), ("a $$ b", "a $ b"), ("${U:-$$}", "$"),
        ("${SPACE}", "x y"), ("no reference", "no reference"), ("${U:-a}}", "a}"),
    ]

    @Test("each form reads the environment as compose does", arguments: cases)
    func interpolatesEachForm(template: String, expected: String) throws {
        var interpolator = Interpolator(environment: Self.environment)
        #expect(try interpolator.interpolate(template, path: "services.web.image", at: nil) == expected)
    }

    @Test func unsetVariableIsEmptyWithAWarningNamingFieldAndPosition() throws {
        var interpolator = Interpolator(environment: [:])
        let location = SourceLocation(file: "compose.yaml", line: 3, column: 12)
        #expect(try interpolator.interpolate("img:${TAG}", path: "services.web.image", at: location) == "img:")
        #expect(interpolator.warnings.map(\.description) == [#"compose.yaml:3:12: services.web.image: the "TAG" variable is not set; defaulting to a blank string"#])
    }

    @Test func unusedDefaultsAreNotEvaluated() throws {
        var interpolator = Interpolator(environment: ["A": "a"])
        #expect(try interpolator.interpolate("${A:-${B:?never}}", path: "x", at: nil) == "a")
        #expect(interpolator.warnings.isEmpty)
    }

    @Test(
        "malformed references fail naming the text",
        arguments: [
            ("$ x", "`$` must start a reference"), ("${A", "never closed"), ("${A/b}", "is not a reference compose knows"),
            ("${}", "does not start with a variable name"), ("trailing $", "`$` must start a reference"), ("${1A}", "does not start with a variable name"),
        ])
    func malformedReferencesFail(template: String, message: String) {
        var interpolator = Interpolator(environment: [:])
        let location = SourceLocation(file: "c.yaml", line: 2, column: 5)
        #expect {
            try interpolator.interpolate(template, path: "services.web.image", at: location)
        } throws: { error in
            let description = (error as? ComposeError)?.description ?? ""
            return description.hasPrefix("c.yaml:2:5: services.web.image: ") && description.contains(message)
        }
    }

    @Test(arguments: [
        ("${U:?set U first}", "required variable U is missing a value: set U first"), ("${E:?}", "required variable E is missing a value"), ("${U?}", "required variable U is missing a value"),
    ])
    func missingRequiredVariableFails(template: String, message: String) {
        var interpolator = Interpolator(environment: Self.environment)
        #expect {
            try interpolator.interpolate(template, path: "services.db.environment.PASSWORD", at: SourceLocation(file: "c.yaml", line: 9, column: 7))
        } throws: { error in
            (error as? ComposeError)?.description == "c.yaml:9:7: services.db.environment.PASSWORD: \(message) (in \(template.debugDescription))"
        }
    }

    @Test func deepNestingFailsClearlyAndQuickly() {
        let template = String(repeating: "${U:-", count: 5000) + "x" + String(repeating: "}", count: 5000)
        var interpolator = Interpolator(environment: [:])
        let start = ContinuousClock.now
        #expect {
            try interpolator.interpolate(template, path: "services.web.image", at: nil)
        } throws: { error in
            (error as? ComposeError)?.description.contains("references nest deeper than 16 levels") == true
        }
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test func sixteenLevelsAreAllowed() throws {
        let template = String(repeating: "${U:-", count: 16) + "x" + String(repeating: "}", count: 16)
        var interpolator = Interpolator(environment: [:])
        #expect(try interpolator.interpolate(template, path: "x", at: nil) == "x")
    }

    @Test func loaderInterpolatesEveryScalarButNotKeysNorNumbers() throws {
        let fixture = try LoaderFixture()
        try fixture.write(
            "compose.yaml",
            """
            services:
              web:
                image: "nginx:${TAG:-latest}"
                environment:
                  $$KEY: "${A}"
                  LIST: "$$literal"
                ports: ["${PORT}:80"]
                labels:
                  - a=${A}
            x-note: ${A}
            """)
        let project = try fixture.load(environment: ["A": "a", "PORT": "8080"])
        let web = try #require(project.document.at("services.web"))
        #expect(web["image"]?.stringValue == "nginx:latest")
        #expect(web.at("environment.$$KEY")?.stringValue == "a")
        #expect(web.at("environment.LIST")?.stringValue == "$literal")
        #expect(web.at("ports.0.published")?.stringValue == "8080")
        #expect(web.at("labels.a")?.stringValue == "a")
        #expect(project.document["x-note"]?.stringValue == "a")
    }

    @Test func missingRequiredVariableInAFileNamesFileLineColumnAndField() throws {
        let fixture = try LoaderFixture()
        let file = try fixture.write(
            "compose.yaml",
            """
            services:
              db:
                image: postgres
                environment:
                  PASSWORD: ${DB_PASSWORD:?set DB_PASSWORD in .env}
            """)
        let error = try #require(fixture.loadError())
        #expect(
            error.description
                == "\(file):5:17: services.db.environment.PASSWORD: required variable DB_PASSWORD is missing a value: set DB_PASSWORD in .env (in \"${DB_PASSWORD:?set DB_PASSWORD in .env}\")")
    }
}
