import BerthCore
import Foundation
import Testing

@Suite struct JSONInputTests {
    @Test func readsEveryKindOfValueLikeTheDecoderPath() throws {
        // given: keys in sorted order, as the decoder path sorts them
        let json = #"{"a": null, "b": true, "c": false, "d": [1, -20, "x", [], {}], "e": {"f": "g", "h": 0}, "i": "\u00e9\n\t\"\\\/"}"#

        // when
        let direct = try InputNode(json: json)
        let decoded = try JSONDecoder().decode(InputNode.self, from: Data(json.utf8))

        // then
        #expect(direct == decoded)
        guard case .map(let entries) = direct.content else { Issue.record("not a map: \(direct)"); return }
        #expect(entries.map(\.key) == ["a", "b", "c", "d", "e", "i"])
        #expect(entries.last?.value.content == .string("é\n\t\"\\/"))
    }

    @Test func keepsNumbersAsWrittenAndJoinsSurrogatePairs() throws {
        let node = try InputNode(json: #"[0, -0.5, 1.5e3, 2E-2, "\ud83d\ude00"]"#)
        #expect(
            node.content
                == .list([
                    InputNode(.number("0")), InputNode(.number("-0.5")), InputNode(.number("1.5e3")), InputNode(.number("2E-2")),
                    InputNode(.string("😀")),
                ]))
    }

    @Test func positionsNodesWhenGivenAFile() throws {
        let node = try InputNode(json: "{\n  \"kind\": \"Job\",\n  \"spec\": [true]\n}", file: "body")
        guard case .map(let entries) = node.content else { Issue.record("not a map"); return }
        #expect(node.location == SourceLocation(file: "body", line: 1, column: 1))
        #expect(entries[0].keyLocation == SourceLocation(file: "body", line: 2, column: 3))
        #expect(entries[0].value.location == SourceLocation(file: "body", line: 2, column: 11))
        #expect(entries[1].value.location == SourceLocation(file: "body", line: 3, column: 11))
        #expect(try InputNode(json: #"{"a": 1}"#).location == nil, "no positions without a file")
    }

    @Test(
        arguments: [
            ("", 1, 1, "found the end of the text"),
            ("{\"a\": 1,}", 1, 9, "expected a quoted key"),
            ("{\"a\" 1}", 1, 6, "expected \":\" after the key \"a\""),
            ("[1 2]", 1, 4, "expected \",\" or \"]\""),
            ("{\n  \"a\": 1,\n  \"a\": 2\n}", 3, 3, "duplicate key \"a\""),
            ("\"open", 1, 6, "not closed"),
            ("\"tab\there\"", 1, 5, "control character"),
            ("\"\\x\"", 1, 4, "unknown escape"),
            ("\"\\ud83d\"", 1, 8, "low one"),
            ("01", 1, 2, "expected the end of the JSON text"),
            ("-", 1, 2, "expected a digit"),
            ("1.", 1, 3, "after the decimal point"),
            ("1e", 1, 3, "in the exponent"),
            ("[1, 2.5e403]", 1, 5, "the number 2.5e403 is out of range"),
            ("tru", 1, 1, "expected a JSON value"),
            ("{} x", 1, 4, "expected the end of the JSON text"),
        ] as [(String, Int, Int, String)])
    func refusesWhatIsNotJSONNamingWhereAndWhy(json: String, line: Int, column: Int, message: String) {
        #expect {
            _ = try InputNode(json: json, file: "body")
        } throws: { error in
            guard let issue = (error as? ValidationError)?.issues.first else { return false }
            #expect(issue.location == SourceLocation(file: "body", line: line, column: column), "\(issue)")
            #expect(issue.message.contains(message), "\(issue.message)")
            return issue.message.hasPrefix("invalid JSON: ")
        }
    }

    @Test func boundsTheNesting() throws {
        let deep = String(repeating: "[", count: InputNode.maxJSONDepth + 1) + String(repeating: "]", count: InputNode.maxJSONDepth + 1)
        #expect(throws: ValidationError.self) { try InputNode(json: deep) }
        let allowed = String(repeating: "[", count: InputNode.maxJSONDepth) + String(repeating: "]", count: InputNode.maxJSONDepth)
        #expect(try InputNode(json: allowed).kindDescription == "a list")
    }

    @Test func storedSpecsReadBackEqualThroughBothPaths() throws {
        // given: a job spec with most fields set, encoded as the store encodes it
        let spec = try JobSpec(
            json: #"""
                {"image": "localhost/app:1", "command": ["sh", "-c", "echo \"hi\""], "env": {"A": "1", "B": {"fromEnv": "HOME"}},
                 "resources": {"memory": "256Mi", "cpus": "0.5"}, "network": "none", "activeDeadline": "1h30m", "backoffLimit": 3, "priority": -5,
                 "feedbackPath": "/out/feedback.json", "ttlAfterFinished": "10m", "nonRetryableExitCodes": [2, 64]}
                """#)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let stored = String(decoding: try encoder.encode(spec), as: UTF8.self)

        // then
        #expect(try JobSpec(json: stored) == spec)
        #expect(try JSONDecoder().decode(JobSpec.self, from: Data(stored.utf8)) == spec)
        #expect(spec.backoffLimit == 3 && spec.priority == -5 && spec.nonRetryableExitCodes == [2, 64])
    }

    @Test func aSpecThatNoLongerValidatesNamesTheField() {
        #expect {
            _ = try JobSpec(json: #"{"image": "localhost/app:1", "backoffLimit": "many"}"#)
        } throws: { error in
            (error as? ValidationError)?.issues.contains { $0.path == "spec.backoffLimit" } ?? false
        }
    }

    /// Hundreds of byte-level mutations of a valid document: never a crash, and whatever is
    /// accepted is JSON that Foundation's parser accepts too.
    @Test func mutatedInputIsAValueOrAnErrorNeverACrash() throws {
        let seed = Array(#"{"a": [1, 2.5e-3, "x\u00e9\n", true, null], "b": {"c": "d"}, "e": -0}"#.utf8)
        let alphabet = Array(#"{}[]":,.-+eE0123456789\ u"tfn"#.utf8) + [0x0A, 0x00, 0xC3, 0xA9]
        var generator = SystemRandomNumberGenerator()
        var accepted = 0
        for _ in 0..<600 {
            var bytes = seed
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes[position] = alphabet.randomElement(using: &generator)!
                case 1: bytes.remove(at: position)
                default: bytes.insert(alphabet.randomElement(using: &generator)!, at: position)
                }
                if bytes.isEmpty { bytes = seed }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                _ = try InputNode(json: text)
                accepted += 1
                #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil, "accepted: \(text)")
            } catch {
                #expect(error.issues.first?.message.hasPrefix("invalid JSON: ") == true)
            }
        }
        #expect(accepted < 600, "some mutations must break the document")
    }
}
