import BerthCore
import Foundation
import Testing

@testable import BerthStore

/// Issued certificates and the local CA on both stores (migration 14, issue 23).
extension StoreConformanceTests {
    private static let site = ResourceID(kind: .certificate, project: "shop", name: "site")

    private func material(_ text: String, id: ResourceID = site, issuedAt seconds: Double = 0) -> CertificateMaterial {
        CertificateMaterial(id: id, certificatePEM: "cert \(text)", keyPEM: "key \(text)", notAfter: at(seconds + 86400), issuedAt: at(seconds))
    }

    @Test(arguments: StoreKind.allCases)
    func certificateMaterialIsReplacedByTheNextIssueAndRemovedWithThePurge(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let other = ResourceID(kind: .certificate, project: "other", name: "site")
            try await store.putCertificateMaterial(material("one"))
            try await store.putCertificateMaterial(material("elsewhere", id: other))
            let first = try await store.certificateMaterial(Self.site)
            // when
            try await store.putCertificateMaterial(material("two", issuedAt: 60))
            let second = try await store.certificateMaterial(Self.site)
            try await store.purgeResource(Self.site)
            // then
            #expect(first == material("one"))
            #expect(second == material("two", issuedAt: 60))
            #expect(try await store.certificateMaterial(Self.site) == nil)
            #expect(try await store.certificateMaterial(other) == material("elsewhere", id: other))
            await expectStoreError(.invalidArgument) {
                try await store.putCertificateMaterial(material("x", id: ResourceID(kind: .service, project: "shop", name: "site")))
            }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theFirstCertificateAuthorityWrittenIsKept(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, place in
            // given
            let first = StoredCertificateAuthority(name: "local", certificatePEM: "ca one", keyPEM: "key one", createdAt: at(0))
            let second = StoredCertificateAuthority(name: "local", certificatePEM: "ca two", keyPEM: "key two", createdAt: at(5))
            let before = try await store.certificateAuthority("local")
            // when: two leaders, one after the other
            let kept = try await store.certificateAuthority("local", creatingWith: first)
            let other = try await place.open()
            let keptByTheOther = try await other.certificateAuthority("local", creatingWith: second)
            await other.close()
            // then
            #expect(before == nil)
            #expect(kept == first && keptByTheOther == first)
            #expect(try await store.certificateAuthority("local") == first)
        }
    }
}
