import BerthCore
import BerthManifests
import Testing

/// SplitMix64: a small, seeded generator, so every run mutates the same way.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("YAML parser fuzzing")
struct ParserFuzzTests {
    static let manifests = [
        """
        kind: Service
        name: web
        spec:
          image: "nginx:1.27"
          replicas: 3
          ports: [80, 443]
          env:
            - {name: MODE, value: prod}
        ---
        kind: Volume
        name: data
        """,
        """
        kind: Volume
        ---
        defaults: &defaults
          restart: always
          labels: {team: core}
        kind: Service
        spec:
          <<: *defaults
          command: >
            run --fast
          healthcheck: !!map
            interval: 10s
            retries: !!int "3"
        """,
        """
        # comment
        - a
        - [b, {c: d}]
        - ? e
          : 'f'
        ---
        ...
        --- |
          literal text
        """,
    ]

    static let insertions: [[UInt8]] =
        [":", "-", "[", "]", "{", "}", "*a", "&a", "\t", "<<: *a", "!!int ", "!x ", "---\n", "\n", " ", "\"", "'", "|", "? ", "#", ","]
        .map { Array($0.utf8) } + [[0xFF], [0xC3], [0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90]]

    static func mutate(_ input: [UInt8], with random: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = Int.random(in: 0...bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0 where position < bytes.count:
                bytes.remove(at: position)
            case 1:
                bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
            case 2 where position < bytes.count:
                let end = min(bytes.count, position + Int.random(in: 1...16, using: &random))
                bytes.insert(contentsOf: bytes[position..<end], at: Int.random(in: 0...bytes.count, using: &random))
            case 3 where position < bytes.count:
                bytes.swapAt(position, Int.random(in: 0..<bytes.count, using: &random))
            case 4, 5:
                bytes.insert(contentsOf: insertions.randomElement(using: &random)!, at: position)
            default:
                bytes.removeSubrange(position...)
            }
        }
        return bytes
    }

    @Test(.timeLimit(.minutes(5)), arguments: 0..<manifests.count)
    func mutatedManifestsParseOrFailWithPositionedIssues(manifest: Int) {
        // given
        var random = SplitMix64(seed: 0xB3A7_0000 + UInt64(manifest))
        let original = Array(Self.manifests[manifest].utf8)
        #expect(yamlIssues(of: original).isEmpty)
        var rejected = 0
        for _ in 0..<400 {
            let input = Self.mutate(original, with: &random)
            // when
            do {
                _ = try YAMLDocumentParser.parse(input, file: "fuzz.yaml")
            } catch {
                // then
                rejected += 1
                #expect(!error.issues.isEmpty)
                for issue in error.issues {
                    #expect(issue.location?.file == "fuzz.yaml", "\(issue)")
                    #expect((issue.location?.line ?? 0) >= 1 && (issue.location?.column ?? 0) >= 1, "\(issue)")
                    #expect(!issue.message.isEmpty)
                }
            }
        }
        #expect(rejected > 0)
    }
}
