import BerthCore
import BerthManifests
import Foundation
import Testing

/// The lines of an age-armored block of a made-up secret, as `age --encrypt --armor` printed them.
private let armorLines = [
    "-----BEGIN AGE ENCRYPTED FILE-----",
    "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBMa2YvYVBpdGhFbXpIaVlv",
    "Mm5sdnNrcFAvS3VkdVRjV2NldlNyQ016U1NzCkZaYUhJb3l3eEhFYTEwMWx3R0lZ",
    "R2lJTVNrdDJZbndlcHhvUXlPUWJjZmMKLS0tIFlTWmtUYS9pZll2V2QrQkxWa0pR",
    "cVpNdk85NGpkMGRpbkFJbGNUKytkSGcKaAAUYL8TKrWySTjbLoVikMdpr0yoOli+",
    "ZROelIKS/U38zJyBqVYwqXLiWyEnMGZOlA==",
    "-----END AGE ENCRYPTED FILE-----",
]

/// A Service whose env `TOKEN` is the block of `lines`, as a YAML block scalar on line 8.
private func service(_ lines: [String]) -> String {
    """
    apiVersion: berth/v1
    kind: Service
    metadata: {name: app}
    spec:
      image: nginx:1.27
      env:
        MODE: prod
        TOKEN: |

    """ + lines.map { "      \($0)\n" }.joined()
}

@Suite("Reading age-encrypted env values")
struct EncryptedEnvReadingTests {
    @Test func aBlockScalarHoldingAnAgeArmoredBlockIsAnEncryptedValue() throws {
        let resources = try read(service(armorLines))
        let env = try #require(resources.first?.containerSpec?.env)
        #expect(env["TOKEN"] == .encrypted(armorLines.joined(separator: "\n") + "\n"))
        #expect(env["MODE"] == .literal("prod"))
        #expect(env["TOKEN"]?.description == "(age-encrypted)")
    }

    @Test func surroundingWhitespaceIsDroppedSoTheStoredBlockIsOneForm() throws {
        // A block scalar kept whole (`|+`): blank lines around the block, trailing spaces on its lines.
        let yaml = service([]).replacingOccurrences(of: "TOKEN: |\n", with: "TOKEN: |+\n\n") + armorLines.map { "      \($0)  \n" }.joined() + "\n"
        let env = try #require(try read(yaml).first?.containerSpec?.env)
        #expect(env["TOKEN"] == .encrypted(armorLines.joined(separator: "\n") + "\n"))
    }

    @Test func anEncryptedValueRoundTripsThroughJSONAsTheArmoredString() throws {
        let value = EnvValue.encrypted(armorLines.joined(separator: "\n") + "\n")
        let json = try JSONEncoder().encode(["TOKEN": value])
        #expect(try JSONDecoder().decode([String: String].self, from: json)["TOKEN"] == armorLines.joined(separator: "\n") + "\n")
        #expect(try JSONDecoder().decode([String: EnvValue].self, from: json)["TOKEN"] == value)
    }

    @Test func renderingShowsTheCiphertextNeverAnythingElse() throws {
        let yaml = try ManifestRenderer.yaml(try read(service(armorLines)))
        #expect(yaml.contains(armorLines[1]))
        let again = try #require(try read(yaml).first?.containerSpec?.env["TOKEN"])
        #expect(again == .encrypted(armorLines.joined(separator: "\n") + "\n"))
    }

    static let badBlocks: [(String, [String], String)] = [
        ("no footer", Array(armorLines.dropLast()), "ends with the line -----END AGE ENCRYPTED FILE-----"),
        ("no body", [armorLines[0], armorLines[6]], "ends with the line -----END AGE ENCRYPTED FILE-----"),
        (
            "a short line before the last", [armorLines[0], armorLines[1], String(armorLines[2].dropLast(4))] + armorLines[3...],
            "line 3 of the age-encrypted block has 60 columns; every line but the last has 64"
        ),
        ("a long line", [armorLines[0], armorLines[1] + "AAAA"] + armorLines[2...], "line 2 of the age-encrypted block has 68 columns, at most 64"),
        ("an empty line", [armorLines[0], armorLines[1], ""] + armorLines[2...], "line 3 of the age-encrypted block is empty"),
        (
            "not base64", [armorLines[0], armorLines[1], armorLines[2], armorLines[3], armorLines[4], "ZROelIKS/U38zJyB*VYwqXLiWyEnMGZOlA==", armorLines[6]],
            "the age-encrypted block is not valid base64"
        ),
        ("not an age file", [armorLines[0], "aGVsbG8gd29ybGQ=", armorLines[6]], "is not an age file"),
        ("text after the footer", armorLines + ["more"], "ends with the line -----END AGE ENCRYPTED FILE-----"),
    ]

    @Test(arguments: badBlocks)
    func aBrokenBlockIsAnErrorAtItsFieldWithFileLineAndColumn(_ name: String, _ lines: [String], _ message: String) throws {
        let issues = readingIssues(service(lines))
        let issue = try #require(issues.first, "\(name): no issue")
        #expect(issues.count == 1, "\(issues.map(\.description))")
        #expect(issue.path == "spec.env.TOKEN")
        #expect(issue.message.contains(message), "\(name): \(issue.message)")
        #expect(issue.description.hasPrefix("bad.yaml:8:\(issue.location?.column ?? 0): Service default/app: spec.env.TOKEN: "), "\(issue.description)")
    }

    @Test func aStringThatOnlyMentionsTheHeaderLaterIsALiteral() throws {
        let yaml = service([]).replacingOccurrences(of: "TOKEN: |\n", with: "TOKEN: \"see -----BEGIN AGE ENCRYPTED FILE-----\"\n")
        #expect(try read(yaml).first?.containerSpec?.env["TOKEN"] == .literal("see -----BEGIN AGE ENCRYPTED FILE-----"))
    }
}
