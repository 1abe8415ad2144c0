import BerthCore
import Foundation
import Testing

@testable import BerthCompose

@Suite("Compose loader: hostile input")
struct LoaderHostileInputTests {
    /// The error loading `text` as compose.yaml gives, and the file's path.
    private func error(_ text: String, environment: [String: String] = [:]) throws -> (String, String) {
        let fixture = try LoaderFixture()
        let file = try fixture.write("compose.yaml", text)
        let start = ContinuousClock.now
        let error = try #require(fixture.loadError(environment: environment))
        #expect(ContinuousClock.now - start < .seconds(5))
        return (error.description, file)
    }

    @Test func unknownTopLevelKeysFailNamingTheKeyAndTheAllowedOnes() throws {
        let (message, file) = try error("services:\n  web: {image: x}\nservice:\n  db: {image: y}\n")
        #expect(message == "\(file):3:1: service: unknown top-level key \"service\"; compose allows version, name, include, services, networks, volumes, secrets, configs and x- extension fields")
    }

    @Test func aServiceThatIsNotAMappingFails() throws {
        let (message, file) = try error("services:\n  web: nginx\n")
        #expect(message == "\(file):2:8: services.web: a service is a mapping of its fields (`image:` …), found a string")
    }

    @Test func aBadShortPortFailsNamingTheField() throws {
        let (message, file) = try error("services:\n  web:\n    image: x\n    ports:\n      - \"8080:80\"\n      - abc\n")
        #expect(message == #"\#(file):6:9: services.web.ports[1]: expected "[[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]" (ports may be ranges like 8000-8002), found "abc""#)
    }

    @Test func aBadVolumeOptionFailsNamingTheField() throws {
        let (message, file) = try error("services:\n  web:\n    image: x\n    volumes: [\"data:/data:bogus\"]\n")
        #expect(message.hasPrefix("\(file):4:15: services.web.volumes[0]: unknown volume option \"bogus\""))
    }

    @Test func aYAMLSyntaxErrorNamesThePosition() throws {
        let (message, file) = try error("services:\n  web:\n    image: [unclosed\n")
        #expect(message.hasPrefix("\(file):"))
        #expect(message.count < 400)
    }

    @Test func anUnclosedQuoteInACommandFails() throws {
        let (message, file) = try error("services:\n  web:\n    image: x\n    command: echo 'open\n")
        #expect(message.hasPrefix("\(file):4:14: services.web.command: the command has an unclosed ' quote"))
    }

    @Test func aFileOverTheSizeLimitFailsQuickly() throws {
        let padding = String(repeating: "# padding line to make the file large\n", count: 280_000)
        let (message, file) = try error("services:\n  web: {image: x}\n" + padding)
        #expect(message.hasPrefix("\(file):1:1: the file is "))
        #expect(message.contains("over the limit of 8388608 bytes"))
    }

    @Test func anAliasBombFailsQuickly() throws {
        var text = "x-a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
        for level in 1...8 { text += "x-\(level): &l\(level) [\(Array(repeating: level == 1 ? "*a" : "*l\(level - 1)", count: 10).joined(separator: ", "))]\n" }
        let (message, _) = try error(text + "services:\n  web: {image: x}\n")
        #expect(message.contains("limit maxNodes"))
    }

    @Test func noComposeFileFailsNamingTheNamesLookedFor() throws {
        let fixture = try LoaderFixture()
        let error = try #require(fixture.loadError())
        #expect(error.description.contains("no compose file in \(fixture.directory): looked for compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml"))
    }
}
