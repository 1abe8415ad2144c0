import BerthCore
import Foundation

/// The keys and certificates the leader issued, so every node writes the same files to its own
/// target, and the local CA every leader signs with. Both hold private keys: protect the store
/// as the hosts.
public protocol CertificateMaterialStore: Sendable {
    /// Writes the material of one certificate, replacing what was stored for it.
    func putCertificateMaterial(_ material: CertificateMaterial) async throws(StoreError)
    /// The material last issued for `id`, or nil when none was stored.
    func certificateMaterial(_ id: ResourceID) async throws(StoreError) -> CertificateMaterial?
    /// The CA named `name`: stores `candidate` when there is none yet and returns what the store
    /// then holds, so leaders racing to create it all keep the first one written.
    func certificateAuthority(_ name: String, creatingWith candidate: StoredCertificateAuthority) async throws(StoreError) -> StoredCertificateAuthority
    /// The CA named `name`, or nil when none was stored yet.
    func certificateAuthority(_ name: String) async throws(StoreError) -> StoredCertificateAuthority?
}
