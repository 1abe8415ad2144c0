import BerthCore
import BerthManifests
import Testing

@Suite("Hostile YAML input")
struct HostileInputTests {
    /// Parses `text`, expecting a rejection that mentions `limit`, within a few seconds.
    private func expectRejected(_ text: String, naming limit: String, limits: ManifestLimits = .init()) {
        let clock = ContinuousClock()
        var found: [ValidationIssue] = []
        let elapsed = clock.measure { found = yamlIssues(of: text, limits: limits) }
        #expect(found.last?.message.contains(limit) == true, "\(found)")
        #expect(found.last?.location != nil)
        #expect(elapsed < .seconds(5))
    }

    @Test func rejectsABillionLaughsAliasBombWithoutExpandingIt() {
        // given: 9 levels of 10 aliases each, 10^9 values once expanded
        var text = "lol0: &lol0 \"lol\"\n"
        for level in 1...9 {
            let aliases = Array(repeating: "*lol\(level - 1)", count: 10).joined(separator: ", ")
            text += "lol\(level): &lol\(level) [\(aliases)]\n"
        }
        // then
        expectRejected(text, naming: "maxNodes")
    }

    @Test func rejectsDeepFlowNesting() {
        expectRejected(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000), naming: "maxDepth")
    }

    @Test func acceptsNestingUpToTheLimit() {
        let limits = ManifestLimits(maxDepth: 8)
        #expect(yamlIssues(of: String(repeating: "[", count: 8) + String(repeating: "]", count: 8), limits: limits).isEmpty)
        expectRejected(String(repeating: "[", count: 9) + String(repeating: "]", count: 9), naming: "maxDepth", limits: limits)
    }

    @Test func rejectsDeepBlockNesting() {
        expectRejected(String(repeating: "- ", count: 100_000) + "x\n", naming: "maxDepth")
        let indented = (0..<200).map { String(repeating: " ", count: $0) + "k:\n" }.joined()
        expectRejected(indented, naming: "maxDepth")
    }

    @Test func rejectsAliasesThatNestDeeperThanTheLimit() {
        // given: an anchor 40 levels deep, repeated 40 levels deep
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        let text = "a: &deep \(deep)\nb: \(String(repeating: "[", count: 39))*deep\(String(repeating: "]", count: 39))\n"
        // then
        expectRejected(text, naming: "maxDepth")
    }

    @Test func rejectsAFileOverTheByteLimit() {
        expectRejected(String(repeating: "a", count: (8 << 20) + 1), naming: "maxFileBytes")
    }

    @Test func rejectsAHugeScalar() {
        expectRejected("a: " + String(repeating: "x", count: (1 << 20) + 1) + "\n", naming: "maxScalarBytes")
    }

    @Test func rejectsTooManyDocuments() {
        expectRejected(String(repeating: "---\n", count: 10_001), naming: "maxDocuments")
    }

    @Test func acceptsAliasesWithinTheNodeLimit() throws {
        // given: 4 levels of 10 aliases, 11 111 values once expanded
        var text = "l0: &l0 x\n"
        for level in 1...4 {
            text += "l\(level): &l\(level) [\(Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", "))]\n"
        }
        // then
        #expect(yamlIssues(of: text).isEmpty)
        #expect(yamlIssues(of: text, limits: ManifestLimits(maxNodes: 10_000)).last?.message.contains("maxNodes") == true)
    }
}
