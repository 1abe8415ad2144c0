import BerthCore
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

    /// Loads the CA from `directory`, or creates it there when it does not exist yet.
    public static func loadOrCreate(in directory: String, now: Date = Date()) throws(CertificateError) -> CertificateAuthority {
        let keyPath = directory + "/ca-key.pem", certificatePath = directory + "/ca.pem"
        let files = FileManager.default
        if files.fileExists(atPath: keyPath), files.fileExists(atPath: certificatePath) {
            do {
                let key = try Certificate.PrivateKey(pemEncoded: try String(contentsOfFile: keyPath, encoding: .utf8))
                let certificate = try Certificate(pemEncoded: try String(contentsOfFile: certificatePath, encoding: .utf8))
                return CertificateAuthority(certificate: certificate, privateKey: key)
            } catch {
                throw CertificateError("the local CA in \(directory) cannot be read: \(error); move it away to make a new one (clients trust the old one)")
            }
        }
        do {
            try files.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
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
            try CertificateFiles.write(try key.serializeAsPEM().pemString, to: keyPath, mode: 0o600)
            try CertificateFiles.write(try certificate.serializeAsPEM().pemString, to: certificatePath, mode: 0o644)
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

/// Files written whole (a temporary file renamed over the target) with their mode set before
/// any byte lands, so a key is never readable by others and never half-written.
public enum CertificateFiles {
    public static func write(_ text: String, to path: String, mode: Int) throws {
        let temporary = path + ".tmp-\(UUID().uuidString.prefix(8))"
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: mode]) else {
            throw CertificateError("cannot write \(path)")
        }
        do {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: temporary))
            try handle.write(contentsOf: Data(text.utf8))
            try handle.synchronize()
            try handle.close()
            // rename(2) replaces the old file atomically: a reader sees the old or the new one.
            guard rename(temporary, path) == 0 else { throw CertificateError(String(cString: strerror(errno))) }
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw CertificateError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
