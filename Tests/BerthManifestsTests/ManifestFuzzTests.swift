import BerthCore
import BerthManifests
import Foundation
import Testing

@Suite("Manifest loading under mutated input")
struct ManifestFuzzTests {
    /// The quickstart plus every example: realistic documents of every kind.
    static func corpus() throws -> [(name: String, text: String)] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let files = try ManifestFiles.collect(paths: [root.appendingPathComponent("manifests").path, root.appendingPathComponent("examples").path])
        return try files.map { ($0, try String(contentsOfFile: $0, encoding: .utf8)) }
    }

    @Test(.timeLimit(.minutes(5)))
    func mutatedManifestsGiveResourcesOrPositionedIssues() throws {
        // given
        let corpus = try Self.corpus()
        try #require(corpus.count >= 5, "the quickstart and the examples are the fuzzing corpus")
        var random = SplitMix64(seed: 0xBE27)
        var accepted = 0, rejected = 0
        for round in 0..<600 {
            let (name, text) = corpus[round % corpus.count]
            let input = String(decoding: ParserFuzzTests.mutate(Array(text.utf8), with: &random), as: UTF8.self)
            // when
            do {
                let resources = try Manifests.resources(yaml: input, file: name)
                _ = try DesiredState.validate(resources)
                accepted += 1
            } catch {
                // then: every problem is positioned in the file and says something
                rejected += 1
                for issue in error.issues {
                    #expect(issue.location?.file == name, "\(issue)")
                    #expect(!issue.message.isEmpty)
                }
            }
        }
        #expect(accepted > 0 && rejected > 0, "accepted \(accepted), rejected \(rejected)")
    }
}
