import BerthCore
import Foundation
import Testing

@testable import BerthController

/// Which services consume a certificate (so a node running one of them writes its files), and
/// whether a node runs one.
@Suite struct CertificateConsumersTests {
    static func certificate(_ target: CertificateSpec.Target, reload: [String] = [], project: String = "shop") -> Resource {
        let spec = CertificateSpec(commonName: "web.internal", target: target, reload: reload.map { CertificateSpec.Reload(service: $0) })
        return Resource(metadata: ResourceMetadata(name: "web", project: project), spec: .certificate(spec))
    }

    static func consumers(_ certificate: Resource, in desired: DesiredState) -> [String] {
        guard case .certificate(let spec) = certificate.spec else { return [] }
        return CertificateManager.consumers(of: certificate.id, spec, in: desired).map(\.name).sorted()
    }

    @Test func theServicesMountingTheVolumeOrNamedInReloadConsume() throws {
        // given
        let inVolume = Self.certificate(.volume(name: "certs", path: "live"), reload: ["proxy"])
        let onHost = Self.certificate(.hostPath("/srv/certs"), reload: ["proxy"])
        let desired = try Fixture.desired(
            Fixture.volume("certs"), Fixture.volume("data"), try Fixture.service("reader", volumes: ["certs:/certs:ro"]),
            try Fixture.service("proxy"), try Fixture.service("db", volumes: ["data:/data"]), try Fixture.service("web"), inVolume)
        // when / then: the volume's readers and the reloaded service; a host target only the reloaded one
        #expect(Self.consumers(inVolume, in: desired) == ["proxy", "reader"])
        #expect(Self.consumers(onHost, in: desired) == ["proxy"])
        // and: another project's services of the same names never
        #expect(Self.consumers(Self.certificate(.volume(name: "certs", path: "."), reload: ["proxy"], project: "other"), in: desired) == [])
    }

    @Test func aNodeRunsAServiceWhenOneOfItsReplicasIsPlacedThere() {
        // given
        let web = Fixture.serviceID("web"), api = Fixture.serviceID("api"), db = Fixture.serviceID("db")
        let assigned = [
            ReplicaAssignment(service: web, replica: 0, node: "a", generation: 1, assignedAt: Fixture.now),
            ReplicaAssignment(service: web, replica: 1, node: "b", generation: 1, assignedAt: Fixture.now),
            ReplicaAssignment(service: api, replica: 0, node: "a", generation: 1, assignedAt: Fixture.now),
        ]
        let onB = ReplicaPlacement.node("b", assignments: assigned)
        // when / then
        #expect(onB.placesHere(web))
        #expect(!onB.placesHere(api))
        #expect(!onB.placesHere(db), "not placed at all")
        #expect(ReplicaPlacement.all.placesHere(db))
    }
}
