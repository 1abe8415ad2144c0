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

    /// Loads the CA from `directory`, or creates it there (and the folders on the way, mode 0700)
    /// when it does not exist yet.
    public static func loadOrCreate(in directory: String, now: Date = Date()) throws(CertificateError) -> CertificateAuthority {
        let keyFile = "ca-key.pem", certificateFile = "ca.pem"
        let folder: HostFolder
        do {
            folder = try HostFolder(directory, creating: 0o700)
            if try folder.contains(keyFile), try folder.contains(certificateFile) {
                do {
                    let key = try Certificate.PrivateKey(pemEncoded: String(decoding: try folder.read(keyFile, limit: CertificateIssuer.readLimit).bytes, as: UTF8.self))
                    let certificate = try Certificate(pemEncoded: String(decoding: try folder.read(certificateFile, limit: CertificateIssuer.readLimit).bytes, as: UTF8.self))
                    return CertificateAuthority(certificate: certificate, privateKey: key)
                } catch {
                    throw CertificateError("the local CA in \(directory) cannot be read: \(error); move it away to make a new one (clients trust the old one)")
                }
            }
        } catch let error as CertificateError {
            throw error
        } catch {
            throw CertificateError("cannot open the local CA's folder: \(error)")
        }
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
            try folder.write(keyFile, Array(try key.serializeAsPEM().pemString.utf8), mode: 0o600)
            try folder.write(certificateFile, Array(try certificate.serializeAsPEM().pemString.utf8), mode: 0o644)
            return CertificateAuthority(certificate: certificate, privateKey: key)
        } catch let error as CertificateError {
            throw error
        } catch {
            throw CertificateError("cannot create the local CA in \(directory): \(error)")
        }
    }
}

/// A certificate operation that failed, with what to do about it.
public struct CertificateError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
