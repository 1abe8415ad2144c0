import BerthCerts
import BerthCore
import BerthHostFiles
import Foundation
import Testing

@Suite("Certificate issuer") struct CertificateIssuerTests {
    let now = Date()

    func temporaryFolder() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("berth-certs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    func openssl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func aSelfSignedCertificateReadsBackAsItsSpec() throws {
        let spec = CertificateSpec(
            commonName: "web.example.org", dnsNames: ["web.example.org", "localhost"], ipAddresses: ["127.0.0.1", "::1"], duration: .days(10), renewBefore: .days(3), target: .hostPath("/x"))
        let issued = try CertificateIssuer.issue(spec, authority: nil, now: now)
        let read = try CertificateIssuer.read(pem: issued.certificatePEM, keyPEM: issued.keyPEM, authority: nil)
        #expect(read.keyMatches == true)
        let other = try CertificateIssuer.issue(spec, authority: nil, now: now)
        #expect(try CertificateIssuer.read(pem: issued.certificatePEM, keyPEM: other.keyPEM, authority: nil).keyMatches == false)
        #expect(read.commonName == "web.example.org")
        #expect(read.dnsNames == ["web.example.org", "localhost"])
        #expect(read.ipAddresses == ["127.0.0.1", "::1"])
        #expect(read.keyAlgorithm == .ecdsaP256)
        #expect(read.selfSigned && !read.signedByLocalCA)
        #expect(abs(read.notAfter.timeIntervalSince(now.addingTimeInterval(10 * 86400))) < 2)
        #expect(issued.chainPEM.isEmpty)
        #expect(CertificatePlanner.decide(spec, current: read, now: now) == .keep(renewAt: read.notAfter.addingTimeInterval(-3 * 86400)))
    }

    @Test func theLocalCAIsMadeOnceKeptPrivateAndSignsWhatOpenSSLVerifies() throws {
        // given
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let first = try CertificateAuthority.loadOrCreate(in: folder + "/ca", now: now)
        let again = try CertificateAuthority.loadOrCreate(in: folder + "/ca", now: now)
        let spec = CertificateSpec(commonName: "api.internal", dnsNames: ["api.internal"], issuer: .localCA, keyAlgorithm: .rsa2048, target: .hostPath(folder))

        // when
        let issued = try CertificateIssuer.issue(spec, authority: again, now: now)
        for file in issued.files(spec.files) {
            try HostFolder(folder).write(file.name, Array(file.text.utf8), mode: file.isPrivate ? 0o600 : 0o644)
        }

        // then
        #expect(try first.pem == again.pem, "the CA is created once")
        let keyMode = try FileManager.default.attributesOfItem(atPath: folder + "/ca/ca-key.pem")[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        #expect(try FileManager.default.attributesOfItem(atPath: folder + "/key.pem")[.posixPermissions] as? Int == 0o600)
        let verify = try openssl(["verify", "-CAfile", folder + "/ca/ca.pem", folder + "/cert.pem"])
        #expect(verify.status == 0, "\(verify.output)")
        let read = try CertificateIssuer.read(pem: issued.certificatePEM, authority: again)
        #expect(read.signedByLocalCA && !read.selfSigned)
        #expect(read.keyAlgorithm == .rsa2048)
        #expect(issued.fullchainPEM == issued.certificatePEM + issued.chainPEM)
        let matches = try openssl(["x509", "-in", folder + "/cert.pem", "-noout", "-ext", "subjectAltName"])
        #expect(matches.output.contains("DNS:api.internal"), "\(matches.output)")
    }

    @Test func somethingElseAtTheTargetIsNotACertificate() {
        #expect(throws: CertificateError.self) { try CertificateIssuer.read(pem: "hello", authority: nil) }
    }
}
