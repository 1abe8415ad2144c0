// Certificate issuance rate: how many certificates per second BerthCerts issues (a fresh key and
// a signed certificate each) for each key type, self-signed and by the local CA. Run by
// scripts/bench-certs, which prints openssl's own key-generation and signing rates beside it.
import BerthCerts
import BerthCore
import Foundation

let seconds = Double(CommandLine.arguments.dropFirst().first ?? "3") ?? 3
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-certbench-\(UUID().uuidString)").path
defer { try? FileManager.default.removeItem(atPath: folder) }
let authority = try CertificateAuthority.loadOrCreate(in: folder)

print("| key | issuer | certificates/s | per certificate |")
print("| --- | --- | ---: | ---: |")
for algorithm in CertificateSpec.KeyAlgorithm.allCases {
    for issuer in [CertificateSpec.Issuer.selfSigned, .localCA] {
        let spec = CertificateSpec(commonName: "bench.internal", dnsNames: ["bench.internal"], issuer: issuer, keyAlgorithm: algorithm, target: .hostPath(folder))
        let clock = ContinuousClock()
        let start = clock.now
        var count = 0
        // RSA-4096 keys take seconds each: at least three, however long that takes.
        while clock.now - start < .seconds(seconds) || count < 3 {
            _ = try CertificateIssuer.issue(spec, authority: issuer == .localCA ? authority : nil)
            count += 1
        }
        let elapsed = clock.now - start
        let perSecond = Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        print("| \(algorithm.rawValue) | \(issuer.rawValue) | \(String(format: "%.1f", perSecond)) | \(String(format: "%.2f", 1000 / perSecond)) ms |")
    }
}
