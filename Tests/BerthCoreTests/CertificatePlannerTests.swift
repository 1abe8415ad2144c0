import BerthCore
import Foundation
import Testing

@Suite("Certificate planner") struct CertificatePlannerTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func spec(dnsNames: [String] = ["web.example.org"], issuer: CertificateSpec.Issuer = .selfSigned) -> CertificateSpec {
        CertificateSpec(commonName: "web.example.org", dnsNames: dnsNames, issuer: issuer, duration: .days(90), renewBefore: .days(30), target: .hostPath("/srv/certs"))
    }

    func observed(notAfter: Date, dnsNames: [String] = ["web.example.org"], localCA: Bool = false) -> ObservedCertificate {
        ObservedCertificate(
            commonName: "web.example.org", dnsNames: dnsNames, ipAddresses: [], notBefore: notAfter.addingTimeInterval(-90 * 86400), notAfter: notAfter,
            keyAlgorithm: .ecdsaP256, signedByLocalCA: localCA, selfSigned: !localCA
        )
    }

    @Test func issuesWhatIsMissingOrUnreadable() {
        #expect(CertificatePlanner.decide(spec(), current: nil, now: now) == .issue(reason: "no certificate at the target"))
        guard case .issue(let reason) = CertificatePlanner.decide(spec(), current: nil, unreadable: "not PEM", now: now) else { Issue.record("kept"); return }
        #expect(reason.contains("not PEM"))
    }

    @Test func keepsAGoodCertificateUntilRenewBeforeItsExpiry() {
        let notAfter = now.addingTimeInterval(60 * 86400)
        #expect(CertificatePlanner.decide(spec(), current: observed(notAfter: notAfter), now: now) == .keep(renewAt: notAfter.addingTimeInterval(-30 * 86400)))
        guard case .issue(let reason) = CertificatePlanner.decide(spec(), current: observed(notAfter: now.addingTimeInterval(29 * 86400)), now: now) else {
            Issue.record("not renewed within renewBefore"); return
        }
        #expect(reason == "expires in 29d, within renewBefore 30d")
        guard case .issue(let expired) = CertificatePlanner.decide(spec(), current: observed(notAfter: now.addingTimeInterval(-1)), now: now) else {
            Issue.record("an expired certificate kept"); return
        }
        #expect(expired.hasPrefix("expired"))
    }

    @Test func reissuesWhenTheKeyDoesNotMatch() {
        var mismatched = observed(notAfter: now.addingTimeInterval(60 * 86400))
        mismatched.keyMatches = false
        #expect(CertificatePlanner.decide(spec(), current: mismatched, now: now) == .issue(reason: "the key at the target does not match the certificate"))
    }

    @Test func reissuesWhenTheSpecChangedNamingTheFields() {
        let good = observed(notAfter: now.addingTimeInterval(60 * 86400))
        #expect(CertificatePlanner.decide(spec(dnsNames: ["web.example.org", "www.example.org"]), current: good, now: now) == .issue(reason: "spec changed: dnsNames"))
        #expect(CertificatePlanner.decide(spec(issuer: .localCA), current: good, now: now) == .issue(reason: "spec changed: issuer"))
        #expect(CertificatePlanner.decide(spec(dnsNames: ["WEB.example.org"]), current: good, now: now) == .keep(renewAt: good.notAfter.addingTimeInterval(-30 * 86400)))
    }
}
