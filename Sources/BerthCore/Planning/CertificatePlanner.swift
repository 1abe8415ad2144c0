import Foundation

/// What a certificate at its target looks like, as read back from its files.
public struct ObservedCertificate: Sendable, Hashable {
    public var commonName: String?
    public var dnsNames: [String]
    public var ipAddresses: [String]
    public var notBefore: Date
    public var notAfter: Date
    public var keyAlgorithm: CertificateSpec.KeyAlgorithm?
    /// Whether it was signed by Berth's local CA (else by itself, or by someone else).
    public var signedByLocalCA: Bool
    public var selfSigned: Bool
    /// Whether the key file at the target belongs to this certificate (nil: not checked).
    public var keyMatches: Bool?

    public init(
        commonName: String?, dnsNames: [String], ipAddresses: [String], notBefore: Date, notAfter: Date,
        keyAlgorithm: CertificateSpec.KeyAlgorithm?, signedByLocalCA: Bool, selfSigned: Bool, keyMatches: Bool? = nil
    ) {
        self.commonName = commonName
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.keyAlgorithm = keyAlgorithm
        self.signedByLocalCA = signedByLocalCA
        self.selfSigned = selfSigned
        self.keyMatches = keyMatches
    }
}

/// Whether a certificate must be (re)issued now, and why; else when to look again.
public enum CertificateDecision: Sendable, Hashable {
    case issue(reason: String)
    /// The certificate is good; it is due for renewal at `renewAt`.
    case keep(renewAt: Date)
}

/// The certificate rules, pure: issue what is missing, unreadable, different from the spec, or
/// within `renewBefore` of its expiry.
public enum CertificatePlanner {
    public static func decide(_ spec: CertificateSpec, current: ObservedCertificate?, unreadable: String? = nil, now: Date) -> CertificateDecision {
        if let unreadable { return .issue(reason: "the files at the target cannot be used: \(unreadable)") }
        guard let current else { return .issue(reason: "no certificate at the target") }
        var changed: [String] = []
        if current.commonName != spec.commonName { changed.append("commonName") }
        if Set(current.dnsNames.map { $0.lowercased() }) != Set(spec.dnsNames.map { $0.lowercased() }) { changed.append("dnsNames") }
        if Set(current.ipAddresses) != Set(spec.ipAddresses) { changed.append("ipAddresses") }
        if current.keyAlgorithm != spec.keyAlgorithm { changed.append("keyAlgorithm") }
        let issuerMatches = spec.issuer == .localCA ? current.signedByLocalCA : current.selfSigned
        if !issuerMatches { changed.append("issuer") }
        if !changed.isEmpty { return .issue(reason: "spec changed: \(changed.joined(separator: ", "))") }
        if current.keyMatches == false { return .issue(reason: "the key at the target does not match the certificate") }
        let renewAt = current.notAfter.addingTimeInterval(-spec.renewBefore.seconds)
        if now >= current.notAfter { return .issue(reason: "expired at \(current.notAfter.formatted(.iso8601))") }
        if now >= renewAt {
            let left = TimeSpan(milliseconds: Int64(current.notAfter.timeIntervalSince(now) * 1000) / 1000 * 1000)
            return .issue(reason: "expires in \(left), within renewBefore \(spec.renewBefore)")
        }
        return .keep(renewAt: renewAt)
    }
}
