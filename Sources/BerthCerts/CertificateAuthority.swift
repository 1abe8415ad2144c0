import BerthCore
import BerthHostFiles
import Crypto
import Foundation
import SwiftASN1
import X509

/// Berth's local CA (what mkcert makes, but renewing): an ECDSA P-256 key and a ten-year
/// self-signed CA certificate, created once in `<state dir>/ca/` (`ca-key.pem` mode 0600,
/// `ca.pem`) and kept. Trust `ca.pem` once on clients and every `issuer: localCA` certificate is trusted.
public struct CertificateAuthority: Sendable {
    public let certificate: Certificate
    let privateKey: Certificate.PrivateKey

    /// The CA certificate as PEM, for chains and for clients to trust.
    public var pem: String {
        get throws { try certificate.serializeAsPEM().pemString }
    }

    /// The CA's key as PEM, for the store.
    public var keyPEM: String {
        get throws { try privateKey.serializeAsPEM().pemString }
    }

    /// A CA read back from its PEM texts (as the store keeps them).
    public init(certificatePEM: String, keyPEM: String) throws(CertificateError) {
        do {
            privateKey = try Certificate.PrivateKey(pemEncoded: keyPEM)
            certificate = try Certificate(pemEncoded: certificatePEM)
        } catch {
            throw CertificateError("the local CA cannot be read: \(error)")
        }
    }

    private init(certificate: Certificate, privateKey: Certificate.PrivateKey) {
        self.certificate = certificate
        self.privateKey = privateKey
    }

    private static let keyFile = "ca-key.pem", certificateFile = "ca.pem"

    /// Loads the CA from `directory`, or creates it there (and the folders on the way, mode 0700)
    /// when it does not exist yet.
    public static func loadOrCreate(in directory: String, now: Date = Date()) throws(CertificateError) -> CertificateAuthority {
        if let authority = try load(from: directory) { return authority }
        let authority = try create(now: now)
        try authority.save(in: directory)
        return authority
    }

    /// The CA in `directory`, or nil when it has none.
    public static func load(from directory: String) throws(CertificateError) -> CertificateAuthority? {
        do {
            let folder = try HostFolder(directory, creating: 0o700)
            guard try folder.contains(keyFile), try folder.contains(certificateFile) else { return nil }
            return try CertificateAuthority(
                certificatePEM: String(decoding: try folder.read(certificateFile, limit: CertificateIssuer.readLimit).bytes, as: UTF8.self),
                keyPEM: String(decoding: try folder.read(keyFile, limit: CertificateIssuer.readLimit).bytes, as: UTF8.self))
        } catch let error as CertificateError {
            throw CertificateError("\(error.description) (in \(directory)); move it away to make a new one (clients trust the old one)")
        } catch {
            throw CertificateError("cannot open the local CA's folder: \(error)")
        }
    }

    /// A new CA, not saved anywhere yet.
    public static func create(now: Date = Date()) throws(CertificateError) -> CertificateAuthority {
        do {
            let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
            let name = try DistinguishedName {
                OrganizationName("Berth")
                CommonName("Berth local CA \(ProcessInfo.processInfo.hostName)")
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
                notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
                issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                    SubjectKeyIdentifier(hash: key.publicKey)
                },
                issuerPrivateKey: key
            )
            return CertificateAuthority(certificate: certificate, privateKey: key)
        } catch {
            throw CertificateError("cannot create a local CA: \(error)")
        }
    }

    /// Writes `ca-key.pem` (mode 0600) and `ca.pem` into `directory`, made with mode 0700 when missing.
    public func save(in directory: String) throws(CertificateError) {
        do {
            let folder = try HostFolder(directory, creating: 0o700)
            let key = try keyPEM, certificate = try pem
            try folder.write(Self.keyFile, Array(key.utf8), mode: 0o600)
            try folder.write(Self.certificateFile, Array(certificate.utf8), mode: 0o644)
        } catch {
            throw CertificateError("cannot write the local CA into \(directory): \(error)")
        }
    }
}

/// A certificate operation that failed, with what to do about it.
public struct CertificateError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
