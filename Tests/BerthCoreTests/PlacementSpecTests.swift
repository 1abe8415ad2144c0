import BerthCore
import Foundation
import Testing

/// A Service's `placement` (issue 23): how it reads, what it defaults to, and that it never
/// changes a container's spec hash.
@Suite("Placement spec")
struct PlacementSpecTests {
    private static func issues(_ json: String) -> [String] {
        do {
            _ = try ServiceSpec(json: json)
            return []
        } catch {
            return error.issues.map { "\($0.path): \($0.message)" }
        }
    }

    private static func service(_ placement: String, volumes: String = "[]") throws -> ServiceSpec {
        try ServiceSpec(json: #"{"image": "localhost/app:1", "volumes": "# + volumes + #", "placement": "# + placement + "}")
    }

    @Test func readsEveryField() throws {
        let bySelector = try Self.service(#"{"nodeSelector": {"zone": "a", "disk": "ssd"}, "spread": false, "rescheduleAfter": "5m"}"#)
        #expect(bySelector.placement == PlacementSpec(nodeSelector: ["zone": "a", "disk": "ssd"], spread: false, rescheduleAfter: .after(.minutes(5))))
        let byName = try Self.service(#"{"node": "web-1", "rescheduleAfter": "never"}"#)
        #expect(byName.placement == PlacementSpec(node: "web-1", rescheduleAfter: .never))
        #expect(try ServiceSpec(json: #"{"image": "localhost/app:1"}"#).placement == nil)
    }

    @Test func spreadsAndMovesAfterAMinuteByDefault() throws {
        let spec = try Self.service("{}")
        #expect(spec.placement == PlacementSpec())
        #expect(spec.spreadsReplicas && spec.rescheduleAfter == .after(.minutes(1)) && !spec.mountsNamedVolume)
        let bound = try Self.service("{}", volumes: #"["/srv/app:/conf:ro"]"#)
        #expect(bound.spreadsReplicas && bound.rescheduleAfter == .after(.minutes(1)), "a host folder is no named volume")
    }

    @Test func aServiceWithANamedVolumeStaysTogetherAndNeverMovesUnlessItSaysSo() throws {
        // given / when
        let implicit = try ServiceSpec(json: #"{"image": "localhost/db:1", "volumes": ["data:/var/lib/db:ro"]}"#)
        let explicit = try Self.service(#"{"spread": true, "rescheduleAfter": "30s"}"#, volumes: #"["data:/var/lib/db"]"#)
        // then
        #expect(implicit.mountsNamedVolume && !implicit.spreadsReplicas && implicit.rescheduleAfter == .never)
        #expect(explicit.spreadsReplicas && explicit.rescheduleAfter == .after(.seconds(30)))
    }

    @Test(arguments: [
        (#"{"node": "web-1", "nodeSelector": {"zone": "a"}}"#, "spec.placement.nodeSelector: node and nodeSelector both choose where the replicas run"),
        (#"{"node": "Web_1"}"#, "spec.placement.node: "),
        (#"{"nodeSelector": {"bad key": "x"}}"#, "spec.placement.nodeSelector.bad key: node label key \"bad key\""),
        (#"{"spread": "yes"}"#, "spec.placement.spread: expected a boolean"),
        (#"{"rescheduleAfter": "soon"}"#, "spec.placement.rescheduleAfter: expected a duration such as 1m, or never, found \"soon\""),
        (#"{"rescheduleAfter": 60}"#, "spec.placement.rescheduleAfter: expected a duration such as 1m, or never"),
        (#"{"nodes": ["a"]}"#, "spec.placement.nodes: unknown field \"nodes\" (did you mean \"node\"?)"),
        (#"["web-1"]"#, "spec.placement: expected a mapping"),
    ])
    func refusesABadPlacementNamingTheField(placement: String, expected: String) {
        let found = Self.issues(#"{"image": "localhost/app:1", "placement": "# + placement + "}")
        #expect(found.count == 1 && found[0].hasPrefix(expected), "\(found)")
    }

    @Test func roundTripsThroughJSONWritingOnlyWhatWasWritten() throws {
        // given
        let spec = try Self.service(#"{"nodeSelector": {"zone": "a"}, "spread": false, "rescheduleAfter": "1h30m"}"#)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // when
        let stored = String(decoding: try encoder.encode(spec), as: UTF8.self)
        let byName = String(decoding: try encoder.encode(try Self.service(#"{"node": "b", "rescheduleAfter": "never"}"#)), as: UTF8.self)
        let without = String(decoding: try encoder.encode(try ServiceSpec(json: #"{"image": "localhost/app:1"}"#)), as: UTF8.self)
        // then
        #expect(try ServiceSpec(json: stored) == spec)
        #expect(stored.contains(#""placement":{"nodeSelector":{"zone":"a"},"rescheduleAfter":"1h30m","spread":false}"#), "\(stored)")
        #expect(byName.contains(#""placement":{"node":"b","rescheduleAfter":"never"}"#), "\(byName)")
        #expect(!without.contains("placement"))
        #expect(try JSONDecoder().decode(ServiceSpec.self, from: Data(stored.utf8)) == spec)
    }

    @Test func isLeftOutOfTheSpecHashAndTheSpecLabel() throws {
        // given
        let plain = try ServiceSpec(json: #"{"image": "localhost/app:1", "replicas": 2}"#)
        var placed = plain
        placed.placement = PlacementSpec(nodeSelector: ["zone": "a"], spread: true, rescheduleAfter: .never)
        // when
        let desired = try DesiredState.validate([
            Resource(metadata: ResourceMetadata(name: "plain"), spec: .service(plain)),
            Resource(metadata: ResourceMetadata(name: "placed"), spec: .service(placed)),
        ])
        // then
        #expect(SpecHash.of(placed) == SpecHash.of(plain))
        #expect(SpecHash.canonicalText(placed) == SpecHash.canonicalText(plain) && !SpecHash.canonicalText(placed).contains("placement"))
        #expect(SpecHash.changedFields(from: plain, to: placed).isEmpty)
        let plainID = ResourceID(kind: .service, project: "default", name: "plain")
        let placedID = ResourceID(kind: .service, project: "default", name: "placed")
        #expect(desired.specHashes[placedID] == desired.specHashes[plainID] && desired.specHashes[plainID] == SpecHash.of(plain))
        #expect(desired.canonicalSpecs[placedID] == desired.canonicalSpecs[plainID])
    }
}
