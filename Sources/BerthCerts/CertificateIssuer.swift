import BerthCore
import Crypto
import _CryptoExtras
import Foundation
import SwiftASN1
import X509

/// A freshly issued key and certificate, with the PEM texts of every file a target gets.
public struct IssuedCertificate: Sendable {
    public var certificatePEM: String
    public var keyPEM: String
    /// The issuing CA's certificate; empty for a self-signed certificate.
    public var chainPEM: String
    public var notAfter: Date

    public var fullchainPEM: String { certificatePEM + chainPEM }

    public init(certificatePEM: String, keyPEM: String, chainPEM: String, notAfter: Date) {
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
        self.chainPEM = chainPEM
        self.notAfter = notAfter
    }

    /// The files by name, as `spec.files` names them; the key is the only private one.
    public func files(_ names: CertificateSpec.FileNames) -> [(name: String, text: String, isPrivate: Bool)] {
        [
            (names.certificate, certificatePEM, false), (names.key, keyPEM, true),
            (names.chain, chainPEM, false), (names.fullchain, fullchainPEM, false),
        ]
    }
}

/// Issues certificates for specs (swift-certificates, keys from swift-crypto) and reads them back.
public enum CertificateIssuer {
    /// The largest certificate or key file read back (1 MiB).
    public static let readLimit = 1 << 20

    /// A new key and certificate for `spec`, signed by itself or by `authority` (`issuer: localCA`).
    public static func issue(_ spec: CertificateSpec, authority: CertificateAuthority?, now: Date = Date()) throws(CertificateError) -> IssuedCertificate {
        do {
            let (key, algorithm) = try makeKey(spec.keyAlgorithm)
            let subject = try DistinguishedName { CommonName(spec.commonName) }
            var names: [GeneralName] = spec.dnsNames.map { .dnsName($0) }
            for address in spec.ipAddresses {
                guard let bytes = IPBytes.parse(address) else { throw CertificateError("\(address) is not an IP address") }
                names.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...])))
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: spec.keyAlgorithm.isRSA))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
            }
            // Who signs: the certificate's own key, or the CA's (an ECDSA P-256 key, see CertificateAuthority).
            let signer: (name: DistinguishedName, key: Certificate.PrivateKey, algorithm: Certificate.SignatureAlgorithm, chain: String)
            switch (spec.issuer, authority) {
            case (.selfSigned, _): signer = (subject, key, algorithm, "")
            case (.localCA, let authority?): signer = (authority.certificate.subject, authority.privateKey, .ecdsaWithSHA256, try authority.pem + "\n")
            case (.localCA, nil): throw CertificateError("issuer localCA needs the local CA")
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(spec.duration.seconds),
                issuer: signer.name, subject: subject, signatureAlgorithm: signer.algorithm, extensions: extensions,
                issuerPrivateKey: signer.key
            )
            return IssuedCertificate(
                certificatePEM: try certificate.serializeAsPEM().pemString + "\n", keyPEM: try key.serializeAsPEM().pemString + "\n",
                chainPEM: signer.chain, notAfter: certificate.notValidAfter
            )
        } catch let error as CertificateError {
            throw error
        } catch {
            throw CertificateError("cannot issue a certificate for \(spec.commonName): \(error)")
        }
    }

    /// Reads a PEM certificate back into what the planner compares; `authority` tells whether it
    /// was signed by the local CA, `keyPEM` (the key file at the target) whether the key matches.
    public static func read(pem: String, keyPEM: String? = nil, authority: CertificateAuthority?) throws(CertificateError) -> ObservedCertificate {
        let certificate: Certificate
        do {
            certificate = try Certificate(pemEncoded: pem)
        } catch {
            throw CertificateError("not a PEM certificate: \(error)")
        }
        var dnsNames: [String] = [], addresses: [String] = []
        if let alternatives = try? certificate.extensions.subjectAlternativeNames {
            for name in alternatives {
                switch name {
                case .dnsName(let host): dnsNames.append(host)
                case .ipAddress(let octets): addresses.append(IPBytes.text(Array(octets.bytes)))
                default: continue
                }
            }
        }
        let commonName = certificate.subject.flatMap { $0 }.first { $0.type == .RDNAttributeType.commonName }.map { "\($0.value)" }
        let selfSigned = certificate.issuer == certificate.subject && certificate.publicKey.isValidSignature(certificate.signature, for: certificate)
        let byCA = authority.map { certificate.issuer == $0.certificate.subject && $0.certificate.publicKey.isValidSignature(certificate.signature, for: certificate) } ?? false
        let keyMatches = keyPEM.map { text in (try? Certificate.PrivateKey(pemEncoded: text))?.publicKey == certificate.publicKey }
        return ObservedCertificate(
            commonName: commonName, dnsNames: dnsNames, ipAddresses: addresses, notBefore: certificate.notValidBefore,
            notAfter: certificate.notValidAfter, keyAlgorithm: keyAlgorithm(certificate.publicKey), signedByLocalCA: byCA, selfSigned: selfSigned,
            keyMatches: keyMatches
        )
    }

    private static func makeKey(_ algorithm: CertificateSpec.KeyAlgorithm) throws -> (Certificate.PrivateKey, Certificate.SignatureAlgorithm) {
        switch algorithm {
        case .ecdsaP256: (Certificate.PrivateKey(P256.Signing.PrivateKey()), .ecdsaWithSHA256)
        case .ecdsaP384: (Certificate.PrivateKey(P384.Signing.PrivateKey()), .ecdsaWithSHA384)
        case .rsa2048: (Certificate.PrivateKey(try _RSA.Signing.PrivateKey(keySize: .bits2048)), .sha256WithRSAEncryption)
        case .rsa4096: (Certificate.PrivateKey(try _RSA.Signing.PrivateKey(keySize: .bits4096)), .sha256WithRSAEncryption)
        }
    }

    private static func keyAlgorithm(_ key: Certificate.PublicKey) -> CertificateSpec.KeyAlgorithm? {
        if P256.Signing.PublicKey(key) != nil { return .ecdsaP256 }
        if P384.Signing.PublicKey(key) != nil { return .ecdsaP384 }
        if let rsa = _RSA.Signing.PublicKey(key) { return rsa.keySizeInBits >= 4096 ? .rsa4096 : .rsa2048 }
        return nil
    }
}

extension CertificateSpec.KeyAlgorithm {
    var isRSA: Bool { self == .rsa2048 || self == .rsa4096 }
}

/// IP addresses as the 4 or 16 bytes a certificate holds, and back.
enum IPBytes {
    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }

    static func text(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var address = in6_addr()
        withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes.prefix(16)) }
        guard inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count)) != nil else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
