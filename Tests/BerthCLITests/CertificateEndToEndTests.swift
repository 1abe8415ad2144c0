import Foundation
import Testing

/// Certificates through the CLI against the private engine: issued, kept, reissued on change,
/// written into a volume, renewed on time under serve, with the service reloaded.
@Suite("Certificates end to end") struct CertificateEndToEndTests {
    func openssl(_ arguments: String...) async throws -> String {
        try await Scenario.run("/usr/bin/openssl", arguments)
    }

    @Test func applyIssuesALocalCACertificateKeepsItAndReissuesWhenTheNamesChange() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        let folder = scenario.folder.appendingPathComponent("certs").path
        func manifest(_ names: String) -> String {
            """
            apiVersion: berth/v1
            kind: Certificate
            metadata: {name: web, project: \(scenario.project)}
            spec:
              dnsNames: [\(names)]
              ipAddresses: [127.0.0.1]
              issuer: localCA
              target: {hostPath: \(folder)}

            """
        }
        try scenario.write(manifest("web.internal"))

        // when
        let first = try await scenario.berth("apply", "-f", scenario.manifests.path)

        // then
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("issued certificate Certificate \(scenario.project)/web (no certificate at the target)"), "\(first.stdout)")
        let ca = scenario.folder.appendingPathComponent("state/ca/ca.pem").path
        #expect(try await openssl("verify", "-CAfile", ca, folder + "/cert.pem").contains("OK"))
        #expect(try await openssl("verify", "-CAfile", ca, folder + "/fullchain.pem").contains("OK"))
        #expect(try FileManager.default.attributesOfItem(atPath: folder + "/key.pem")[.posixPermissions] as? Int == 0o600)
        let serial = try await openssl("x509", "-in", folder + "/cert.pem", "-noout", "-serial")
        // Valid from now for the default 90 days.
        let notAfter = try await openssl("x509", "-in", folder + "/cert.pem", "-noout", "-enddate").replacingOccurrences(of: "notAfter=", with: "")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "MMM d HH:mm:ss yyyy zzz"
        let expiry = try #require(formatter.date(from: notAfter.replacingOccurrences(of: "  ", with: " ")), "\(notAfter)")
        #expect(abs(expiry.timeIntervalSinceNow - 90 * 86400) < 600, "\(notAfter)")
        #expect(try await openssl("x509", "-in", folder + "/cert.pem", "-noout", "-checkend", "0").contains("will not expire"))
        // The key belongs to the certificate.
        #expect(try await openssl("x509", "-in", folder + "/cert.pem", "-noout", "-pubkey") == (try await openssl("pkey", "-in", folder + "/key.pem", "-pubout")))

        // when: applied again, then with another name
        let second = try await scenario.berth("apply", "-f", scenario.manifests.path)
        #expect(second.stdout.contains("No changes."), "\(second.stdout)")
        #expect(try await openssl("x509", "-in", folder + "/cert.pem", "-noout", "-serial") == serial)
        try scenario.write(manifest("web.internal, www.internal"))
        let third = try await scenario.berth("apply", "-f", scenario.manifests.path)

        // then
        #expect(third.stdout.contains("spec changed: dnsNames"), "\(third.stdout)")
        #expect(try await openssl("x509", "-in", folder + "/cert.pem", "-noout", "-serial") != serial)
        #expect(try await openssl("x509", "-in", folder + "/cert.pem", "-noout", "-ext", "subjectAltName").contains("DNS:www.internal"))
        let status = try await scenario.statuses()
        #expect(status["Certificate/web"]?["phase"] as? String == "Ready", "\(status)")
        #expect(status["Certificate/web"]?["nextAttemptAt"] != nil, "the next renewal")
        let table = try await scenario.berth("status", "--project", scenario.project)
        #expect(table.stdout.contains("Certificate \(scenario.project)/web: Issued:") && table.stdout.contains("valid until"), "\(table.stdout)")

        // when: the key file replaced by another one, then applied
        try FileManager.default.removeItem(atPath: folder + "/key.pem")
        _ = try await openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", folder + "/key.pem")
        let fourth = try await scenario.berth("apply", "-f", scenario.manifests.path)
        #expect(fourth.stdout.contains("the key at the target does not match the certificate"), "\(fourth.stdout)")
        #expect(try await openssl("x509", "-in", folder + "/cert.pem", "-noout", "-pubkey") == (try await openssl("pkey", "-in", folder + "/key.pem", "-pubout")))
    }

    @Test func applyWritesTheStoredCertificateBackToATargetThatLostItWithoutIssuing() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a certificate issued into a host folder, kept in the store
        let folder = scenario.folder.appendingPathComponent("certs").path
        try scenario.write(
            """
            apiVersion: berth/v1
            kind: Certificate
            metadata: {name: web, project: \(scenario.project)}
            spec:
              dnsNames: [web.internal]
              issuer: localCA
              target: {hostPath: \(folder)}

            """)
        let first = try await scenario.berth("apply", "-f", scenario.manifests.path)
        #expect(first.stdout.contains("issued certificate"), "\(first.stdout)\(first.stderr)")
        let serial = try await openssl("x509", "-in", folder + "/cert.pem", "-noout", "-serial")

        // when: the folder's files are lost (a new leader's host), then applied
        for file in ["cert.pem", "key.pem", "chain.pem", "fullchain.pem"] { try FileManager.default.removeItem(atPath: folder + "/" + file) }
        let second = try await scenario.berth("apply", "-f", scenario.manifests.path)

        // then: the stored certificate and key are written back, none issued
        #expect(second.status == 0 && !second.stdout.contains("issued certificate"), "\(second.stdout)\(second.stderr)")
        #expect(try await openssl("x509", "-in", folder + "/cert.pem", "-noout", "-serial") == serial)
        #expect(try await openssl("x509", "-in", folder + "/cert.pem", "-noout", "-pubkey") == (try await openssl("pkey", "-in", folder + "/key.pem", "-pubout")))
        let ca = scenario.folder.appendingPathComponent("state/ca/ca.pem").path
        #expect(try await openssl("verify", "-CAfile", ca, folder + "/fullchain.pem").contains("OK"))
    }

    /// A host folder target never replaces a file Berth did not write (a Certificate aimed at
    /// `/etc` with files `passwd` and `shadow`) and never follows a symbolic link to a folder.
    @Test func aHostTargetKeepsFilesBerthDidNotWriteAndFollowsNoLink() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a folder holding someone's passwd, and a link to another folder
        let etc = scenario.folder.appendingPathComponent("etc").path
        let elsewhere = scenario.folder.appendingPathComponent("elsewhere").path
        let link = scenario.folder.appendingPathComponent("link").path
        for folder in [etc, elsewhere] { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: elsewhere)
        let passwd = "root:x:0:0:root:/root:/bin/sh\n"
        try passwd.write(toFile: etc + "/passwd", atomically: true, encoding: .utf8)
        try scenario.write(
            """
            apiVersion: berth/v1
            kind: Certificate
            metadata: {name: clobber, project: \(scenario.project)}
            spec:
              dnsNames: [web.internal]
              target: {hostPath: \(etc)}
              files: {certificate: passwd, key: shadow}
            ---
            apiVersion: berth/v1
            kind: Certificate
            metadata: {name: linked, project: \(scenario.project)}
            spec:
              dnsNames: [web.internal]
              target: {hostPath: \(link)/certs}

            """)

        // when
        let result = try await scenario.berth("apply", "-f", scenario.manifests.path)

        // then: both refused, naming the file; nothing written anywhere
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("refusing to replace \(etc)/passwd: Berth did not write it"), "\(result.stderr)")
        #expect(result.stderr.contains("\(link) is a symbolic link; Berth does not follow links here"), "\(result.stderr)")
        #expect(try String(contentsOfFile: etc + "/passwd", encoding: .utf8) == passwd)
        #expect(try FileManager.default.contentsOfDirectory(atPath: etc) == ["passwd"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere).isEmpty)

        // when: passwd moved away, Berth writes its files; applied again with a new name it replaces its own
        try FileManager.default.moveItem(atPath: etc + "/passwd", toPath: scenario.folder.appendingPathComponent("passwd.saved").path)
        try FileManager.default.removeItem(atPath: link)
        _ = try await scenario.berth("apply", "-f", scenario.manifests.path)
        let issued = try String(contentsOfFile: etc + "/passwd", encoding: .utf8)
        #expect(issued.contains("BEGIN CERTIFICATE"))
        try scenario.write(
            try String(contentsOf: scenario.manifests.appendingPathComponent("project.yaml"), encoding: .utf8)
                .replacingOccurrences(of: "dnsNames: [web.internal]\n  target: {hostPath: \(etc)}", with: "dnsNames: [www.internal]\n  target: {hostPath: \(etc)}"), declaringProject: false)
        let again = try await scenario.berth("apply", "-f", scenario.manifests.path)
        #expect(!again.stderr.contains("refusing"), "\(again.stderr)")
        #expect(try String(contentsOfFile: etc + "/passwd", encoding: .utf8) != issued)
        #expect(try FileManager.default.attributesOfItem(atPath: etc + "/shadow")[.posixPermissions] as? Int == 0o600)
    }

    @Test func applyWritesACertificateIntoAnExternalVolumeUnderItsOwnName() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a volume made outside Berth (a compose project's, adopted), declared external
        let volume = "\(scenario.project)_certs"
        scenario.dockerAtFinish("volume", "rm", "-f", volume)
        _ = try await scenario.docker("volume", "create", volume)
        try scenario.write(
            """
            apiVersion: berth/v1
            kind: Volume
            metadata: {name: certs, project: \(scenario.project)}
            spec: {external: true, volumeName: \(volume)}
            ---
            apiVersion: berth/v1
            kind: Certificate
            metadata: {name: proxy, project: \(scenario.project)}
            spec:
              dnsNames: [proxy.internal]
              target: {volume: certs, path: live/proxy}

            """)

        // when
        let applied = try await scenario.berth("apply", "-f", scenario.manifests.path, "--helper-image", scenario.image)

        // then: written into the external volume itself, no Berth volume made beside it
        #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
        #expect(applied.stdout.contains("issued certificate Certificate \(scenario.project)/proxy"), "\(applied.stdout)\(applied.stderr)")
        let certificate = try await scenario.docker("run", "--rm", "--network", "none", "-v", "\(volume):/v", scenario.image, "cat", "/v/live/proxy/cert.pem")
        #expect(certificate.contains("BEGIN CERTIFICATE"))
        #expect(try await scenario.docker("volume", "ls", "-q", "--filter", "name=berth-\(scenario.project)-certs").isEmpty)
    }

    @Test func serveRenewsACertificateInAVolumeAndSignalsTheService() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a short-lived certificate in a volume the proxy mounts; the proxy counts SIGHUPs
        try scenario.write(
            """
            apiVersion: berth/v1
            kind: Volume
            metadata: {name: certs, project: \(scenario.project)}
            spec: {}
            ---
            \(serviceYAML(scenario, "proxy", command: "n=0; trap 'n=$((n+1)); echo $n > /tmp/hups' HUP; while true; do sleep 1; done", extra: "  volumes: [certs:/certs]"))
            apiVersion: berth/v1
            kind: Certificate
            metadata: {name: proxy, project: \(scenario.project)}
            spec:
              dnsNames: [proxy.internal]
              duration: 40s
              renewBefore: 30s
              target: {volume: certs, path: live/proxy}
              reload: [{service: proxy, signal: SIGHUP}]

            """)

        // when
        try scenario.startServe(["--helper-image", scenario.image], resync: "2s")

        // then: issued into the volume, then renewed about 10 s later, each time with a SIGHUP
        let proxy = scenario.container("proxy")
        var firstSerial = ""
        try await scenario.eventually(60, "the certificate is in the volume") {
            firstSerial = try await scenario.docker("exec", proxy, "sh", "-c", "cat /certs/live/proxy/cert.pem")
            return firstSerial.contains("BEGIN CERTIFICATE")
        }
        try await scenario.eventually(60, "the certificate is renewed") {
            let now = try await scenario.docker("exec", proxy, "sh", "-c", "cat /certs/live/proxy/cert.pem")
            return now.contains("BEGIN CERTIFICATE") && now != firstSerial
        }
        try await scenario.eventually(20, "the proxy got a SIGHUP per issue") {
            (Int(try await scenario.docker("exec", proxy, "cat", "/tmp/hups")) ?? 0) >= 1
        }
        let mode = try await scenario.docker("exec", proxy, "stat", "-c", "%a", "/certs/live/proxy/key.pem")
        #expect(mode == "600")
        #expect(
            try await scenario.docker("ps", "-a", "--filter", "label=berth.kind=certificate-helper", "--filter", "label=berth.project=\(scenario.project)", "-q").isEmpty,
            "helper containers are removed")
        #expect(scenario.serveLog.contains("issued certificate Certificate \(scenario.project)/proxy"))
    }
}
