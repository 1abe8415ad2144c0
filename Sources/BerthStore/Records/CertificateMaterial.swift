import BerthCore
import Foundation

/// A certificate as the leader issued it: its PEM texts and validity. The chain and fullchain
/// files are derived from the certificate and the issuer's CA.
public struct CertificateMaterial: Sendable, Hashable {
    /// The Certificate resource.
    public var id: ResourceID
    public var certificatePEM: String
    public var keyPEM: String
    public var notAfter: Date
    public var issuedAt: Date

    public init(id: ResourceID, certificatePEM: String, keyPEM: String, notAfter: Date, issuedAt: Date) {
        self.id = id
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
        self.notAfter = notAfter
        self.issuedAt = issuedAt
    }
}

/// A certificate authority's certificate and key, as PEM.
public struct StoredCertificateAuthority: Sendable, Hashable {
    public var name: String
    public var certificatePEM: String
    public var keyPEM: String
    public var createdAt: Date

    public init(name: String, certificatePEM: String, keyPEM: String, createdAt: Date) {
        self.name = name
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
        self.createdAt = createdAt
    }
}
