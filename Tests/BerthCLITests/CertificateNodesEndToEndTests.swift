import Foundation
import Testing

/// A certificate consumed on a node that does not lead: node a (the suite's engine) leads and
/// issues, node b (an engine of the test's own) runs the consumer and writes the material the
/// store holds into its own volume, then reloads its consumer when the material changes.
@Suite("Certificates on the nodes that consume them end to end")
struct CertificateNodesEndToEndTests {
    @Test func aNodeThatDoesNotLeadWritesTheStoredCertificateAndReloadsItsConsumer() async throws {
        let scenario = try await Scenario(.postgres)
        let b: StoppableEngine
        do {
            b = try await StoppableEngine(copying: scenario.image, from: scenario.dockerHost)
        } catch {
            await scenario.finish().value
            throw error
        }
        do {
            try await consumedOnB(scenario, b)
        } catch {
            await scenario.finish().value
            await b.finish()
            throw error
        }
        await scenario.finish().value
        await b.finish()
    }

    func consumedOnB(_ scenario: Scenario, _ b: StoppableEngine) async throws {
        /// The docker CLI on b's engine, failing on a non-zero status.
        func onB(_ arguments: String...) async throws -> String {
            let result = try await b.docker(arguments)
            guard result.status == 0 else { throw BerthProcess.SetupError("docker \(arguments) on node b: \(result.stderr)") }
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let volume = "berth-\(scenario.project)-certs"
        func written(_ file: String) async throws -> String {
            try await onB("run", "--rm", "--network", "none", "-v", "\(volume):/c", scenario.image, "cat", "/c/live/\(file)")
        }
        func stored() async throws -> String {
            try await scenario.storeQuery("SELECT certificate_pem FROM certificate_material WHERE project = '\(scenario.project)' AND name = 'proxy'")
        }
        func manifest(_ names: String) -> String {
            """
            apiVersion: berth/v1
            kind: Volume
            metadata: {name: certs, project: \(scenario.project)}
            spec: {}
            ---
            \(serviceYAML(scenario, "proxy", command: "n=0; trap 'n=$((n+1)); echo $n > /tmp/hups' HUP; while true; do sleep 1; done", extra: "  volumes: [certs:/certs]\n  placement: {node: b}"))
            apiVersion: berth/v1
            kind: Certificate
            metadata: {name: proxy, project: \(scenario.project)}
            spec:
              dnsNames: [\(names)]
              issuer: localCA
              target: {volume: certs, path: live}
              reload: [{service: proxy, signal: SIGHUP}]

            """
        }
        // given: a leads, b runs beside it on its own engine
        try scenario.write("")
        try scenario.startServe(PlacementNodesEndToEndTests.node("a") + ["--helper-image", scenario.image])
        try await scenario.eventually(60, "node a holds the leader lease") { scenario.serveLog.contains("holding the leader lease") }
        try scenario.startAnotherServe(
            PlacementNodesEndToEndTests.node("b") + ["--helper-image", scenario.image], log: "b.log", environment: ["DOCKER_HOST": b.dockerHost])
        try await scenario.eventually(120, "nodes a and b are Ready") {
            let nodes = try await NodeFailoverEndToEndTests.nodes(scenario)
            return ["a", "b"].allSatisfy { nodes[$0]?["state"] as? String == "Ready" }
        }

        // when: a certificate in a volume that the proxy, placed on b, mounts
        try scenario.write(manifest("proxy.internal"))

        // then: the proxy runs on b only, and b's volume holds the certificate the store holds
        let proxy = scenario.container("proxy")
        try await scenario.eventually(120, "the proxy runs on b") { try await onB("ps", "-q", "--filter", "name=\(proxy)", "--filter", "status=running") != "" }
        #expect(try await scenario.docker("ps", "-aq", "--filter", "name=\(proxy)").isEmpty, "the proxy does not run on a")
        var first = ""
        try await scenario.eventually(120, "b's volume holds the stored certificate") {
            first = try await stored()
            let there = try? await written("cert.pem")
            return first.contains("BEGIN CERTIFICATE") && there == first
        }
        let ca = try await scenario.storeQuery("SELECT certificate_pem FROM certificate_authority")
        #expect(try await written("chain.pem") == ca, "the chain is the store's CA")
        #expect(try await onB("run", "--rm", "--network", "none", "-v", "\(volume):/c", scenario.image, "stat", "-c", "%a", "/c/live/key.pem") == "600")
        #expect(scenario.serveLog("b.log").contains("node b: wrote the stored certificate"), "b says it wrote it")
        #expect(!scenario.serveLog("b.log").contains("issued certificate"), "b never issues")

        func hups() async throws -> Int { Int(try await onB("exec", proxy, "sh", "-c", "cat /tmp/hups 2>/dev/null || echo 0")) ?? 0 }
        let before = try await hups()

        // when: the spec changes
        try scenario.write(manifest("proxy.internal, www.internal"))

        // then: the leader issues again, b writes the new certificate and signals its proxy
        try await scenario.eventually(120, "b's volume holds the reissued certificate") {
            let now = try await stored()
            let there = try? await written("cert.pem")
            return now != first && now.contains("BEGIN CERTIFICATE") && there == now
        }
        try await scenario.eventually(30, "b's proxy got a SIGHUP") { try await hups() > before }
        #expect(scenario.serveLog("b.log").contains("reloaded \(proxy) (SIGHUP)"), "\(scenario.serveLog("b.log"))")
        let events = try await scenario.berth("events", "--project", scenario.project)
        #expect(events.stdout.contains("node b: wrote the stored certificate"), "\(events.stdout)")
        #expect(
            try await onB("ps", "-a", "--filter", "label=berth.kind=certificate-helper", "-q").isEmpty, "b's helper containers are removed")
        for log in ["serve.log", "b.log"] { #expect(!scenario.serveLog(log).contains("Fatal error"), "\(log)") }
    }
}
