import BerthCore
import Foundation
import Testing

/// Issue 23's pure parts: node names and labels, a Job's `nodeSelector`, and how a selector matches.
@Suite("Node identity")
struct NodeIdentityTests {
    @Test func aSelectorMatchesANodeCarryingEveryOneOfItsLabels() {
        let node = NodeIdentity(name: "gpu-1", labels: ["gpu": "yes", "zone": "a"])
        #expect(node.matches([:]))
        #expect(node.matches(["gpu": "yes"]))
        #expect(node.matches(["gpu": "yes", "zone": "a"]))
        #expect(!node.matches(["gpu": "no"]))
        #expect(!node.matches(["gpu": "yes", "rack": "7"]))
        #expect(!NodeIdentity().matches(["gpu": "yes"]) && NodeIdentity().name == "default")
    }

    @Test func nodeLabelsSplitAtTheFirstEqualsSignAndAreChecked() throws {
        #expect(try NodeIdentity.parseLabel("zone=eu-1") == ("zone", "eu-1"))
        #expect(try NodeIdentity.parseLabel("example.com/expr=a=b") == ("example.com/expr", "a=b"))
        #expect(try NodeIdentity.parseLabel("empty=") == ("empty", ""))
        for bad in ["novalue", "=value", "has space=x", "k=\u{7}", String(repeating: "k", count: 254) + "=v"] {
            #expect(throws: ValidationError.self, "\(bad)") { try NodeIdentity.parseLabel(bad) }
        }
        #expect(throws: ValidationError.self) { try NodeIdentity.validateName("Web_1") }
        try NodeIdentity.validateName("web-1")
    }

    @Test func aJobNodeSelectorRoundTripsAndIsEncodedOnlyWhenSet() throws {
        let spec = try JobSpec(json: #"{"image": "localhost/app:1", "nodeSelector": {"gpu": "yes", "zone": "a"}}"#)
        #expect(spec.nodeSelector == ["gpu": "yes", "zone": "a"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(try JobSpec(json: String(decoding: try encoder.encode(spec), as: UTF8.self)) == spec)
        let plain = String(decoding: try encoder.encode(try JobSpec(json: #"{"image": "localhost/app:1"}"#)), as: UTF8.self)
        #expect(!plain.contains("nodeSelector"))
    }

    @Test(arguments: [
        (#""nodeSelector": {"bad key": "x"}"#, "spec.nodeSelector.bad key: node label key \"bad key\" contains \" \""),
        (#""nodeSelector": ["gpu"]"#, "spec.nodeSelector: expected a mapping"),
        (#""nodeSelector": {"gpu": "a\u0001"}"#, "spec.nodeSelector.gpu: node label value"),
    ])
    func aBadNodeSelectorIsRefusedWithItsPath(fields: String, expected: String) {
        let found = JobQueueFieldTests.issues(#"{"image": "localhost/app:1", "# + fields + "}")
        #expect(found.contains { $0.hasPrefix(expected) }, "\(found)")
    }
}
