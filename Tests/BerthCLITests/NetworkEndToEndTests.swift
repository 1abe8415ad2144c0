import Foundation
import Testing

/// Networks end to end, on the engine inside the test run's own network namespace (bridge
/// networks exist only there): services find each other by name and alias, networks are created,
/// recreated and removed as declared, and strangers' networks are never touched.
@Suite("Networks end to end", .serialized)
struct NetworkEndToEndTests {
    /// An httpd answering `page` on port 8080 of every network it is on.
    static func web(_ scenario: Scenario, _ name: String, page: String, networks: String) -> String {
        """
        apiVersion: berth/v1
        kind: Service
        metadata: {name: \(name), project: \(scenario.project)}
        spec:
          image: \(scenario.image)
          pullPolicy: Never
          command: ["sh", "-c", "mkdir -p /srv && echo \(page) > /srv/index.html && exec httpd -f -p 8080 -h /srv"]
          stopGracePeriod: 1s
        \(networks)
        ---

        """
    }

    /// A container to fetch from, on the given networks.
    static func client(_ scenario: Scenario, _ name: String, networks: String) -> String {
        """
        apiVersion: berth/v1
        kind: Service
        metadata: {name: \(name), project: \(scenario.project)}
        spec:
          image: \(scenario.image)
          pullPolicy: Never
          command: ["sleep", "600"]
          stopGracePeriod: 1s
        \(networks)
        ---

        """
    }

    static func network(_ scenario: Scenario, _ name: String, spec: String = "{}") -> String {
        """
        apiVersion: berth/v1
        kind: Network
        metadata: {name: \(name), project: \(scenario.project)}
        spec: \(spec)
        ---

        """
    }

    /// Fetches `url` from inside `container` (busybox wget, bounded by `timeout`: its own -T crashes).
    static func fetch(_ engine: NetnsEngine, from container: String, _ url: String) async throws -> CommandResult {
        try await engine.dockerCommand(["exec", container, "timeout", "5", "wget", "-qO-", url])
    }

    static func networkID(_ scenario: Scenario, _ name: String) async -> String? {
        try? await scenario.docker("network", "inspect", "--format", "{{.Id}}", name)
    }

    @Test func servicesFindEachOtherByNameAndAliasOnTheProjectsNetworksAndStatusSaysWhere() async throws {
        let engine = try NetnsEngine()
        let scenario = try await Scenario(dockerHost: engine.dockerHost)
        defer { scenario.finish() }
        let p = scenario.project
        // given: web on the default network and on back (alias api there); one client on each
        try scenario.write(
            Self.network(scenario, "back")
                + Self.web(scenario, "web", page: "hello-\(p)", networks: "  networks: [default, {name: back, aliases: [api]}]")
                + Self.client(scenario, "front", networks: "")
                + Self.client(scenario, "inside", networks: "  networks: [back]")
        )

        // when
        let apply = try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "90s")

        // then
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(apply.stdout.contains("create network berth-\(p)-default"), "\(apply.stdout)")
        #expect(apply.stdout.contains("create network berth-\(p)-back"), "\(apply.stdout)")
        try await NetnsEngine.waitUntil(timeout: .seconds(30), "front fetches http://web:8080/") {
            try await Self.fetch(engine, from: scenario.container("front"), "http://web:8080/").stdout == "hello-\(p)\n"
        }
        #expect(try await Self.fetch(engine, from: scenario.container("inside"), "http://web:8080/").stdout == "hello-\(p)\n")
        #expect(try await Self.fetch(engine, from: scenario.container("inside"), "http://api:8080/").stdout == "hello-\(p)\n")
        // the alias is only on back, and front is not on back
        #expect(try await Self.fetch(engine, from: scenario.container("front"), "http://api:8080/").status != 0)
        // status: each replica's networks with an address
        let statuses = try await scenario.statuses()
        let replicas = statuses["Service/web"]?["replicas"] as? [[String: Any]]
        let networks = (replicas?.first?["networks"] as? [[String: Any]]) ?? []
        #expect(Set(networks.compactMap { $0["network"] as? String }) == ["berth-\(p)-default", "berth-\(p)-back"], "\(String(describing: replicas))")
        #expect(networks.allSatisfy { ($0["ipv4Address"] as? String)?.isEmpty == false }, "\(networks)")
        // and which container and image build it is, as the engine names them
        let webID = try await scenario.docker("inspect", "--format", "{{.Id}} {{.Image}}", scenario.container("web"))
        #expect("\(replicas?.first?["containerID"] as? String ?? "-") \(replicas?.first?["imageID"] as? String ?? "-")" == webID, "\(String(describing: replicas))")
        let table = try await scenario.berth("status")
        #expect(table.stdout.contains("berth-\(p)-back 1"), "\(table.stdout)")
        #expect(table.stdout.contains("\n\nREPLICA") && !table.stdout.hasSuffix("\n\n"), "one blank line before the replica table, none after the last line: \(table.stdout.debugDescription)")
        // a second apply changes nothing
        let again = try await scenario.berth("plan", "-f", scenario.manifests.path, "--detailed-exitcode")
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
    }

    @Test func aChangedNetworkIsRecreatedWithItsContainersKeptAndANewOneJoinsIt() async throws {
        let engine = try NetnsEngine()
        let scenario = try await Scenario(dockerHost: engine.dockerHost)
        defer { scenario.finish() }
        let p = scenario.project
        let services =
            Self.web(scenario, "web", page: "v-\(p)", networks: "  networks: [default, back]")
            + Self.client(scenario, "inside", networks: "  networks: [back]")
        try scenario.write(Self.network(scenario, "back") + services)
        let first = try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "90s")
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        let before = (back: await Self.networkID(scenario, "berth-\(p)-back"), main: await Self.networkID(scenario, "berth-\(p)-default"))
        let containers = (web: await scenario.inspect(scenario.container("web"), "{{.Id}}"), inside: await scenario.inspect(scenario.container("inside"), "{{.Id}}"))
        #expect(await scenario.inspect("berth-\(p)-back", "{{.Internal}}") == "false")

        // when: back becomes internal (and a new client joins it)
        try scenario.write(Self.network(scenario, "back", spec: "{internal: true}") + services + Self.client(scenario, "fresh", networks: "  networks: [back]"))
        let second = try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "90s")

        // then: back is new, default is not, the containers are the same ones, attached again
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(second.stdout.contains("spec changed: internal"), "\(second.stdout)")
        #expect(await Self.networkID(scenario, "berth-\(p)-back") != before.back)
        #expect(await Self.networkID(scenario, "berth-\(p)-default") == before.main)
        #expect(await scenario.inspect(scenario.container("web"), "{{.Id}}") == containers.web)
        #expect(await scenario.inspect(scenario.container("inside"), "{{.Id}}") == containers.inside)
        try await NetnsEngine.waitUntil(timeout: .seconds(30), "inside fetches web over the new back") {
            try await Self.fetch(engine, from: scenario.container("inside"), "http://web:8080/").stdout == "v-\(p)\n"
        }
        #expect(try await Self.fetch(engine, from: scenario.container("fresh"), "http://web:8080/").stdout == "v-\(p)\n")
        // the engine made it internal (Docker 20.10 still gives its containers a gateway route; the
        // network's isolation is the engine's forwarding rules, which Berth does not write)
        #expect(await scenario.inspect("berth-\(p)-back", "{{.Internal}}") == "true")
    }

    @Test func anInternalNetworkHasNoWayOutOfTheNamespace() async throws {
        let engine = try NetnsEngine()
        let scenario = try await Scenario(dockerHost: engine.dockerHost)
        defer { scenario.finish() }
        // given: beyond the engine's namespace, a second one of the test's own (TEST-NET-1
        // addresses on a veth pair) with an httpd on 192.0.2.2:8080: reaching it means leaving
        // the engine's namespace, as a packet to the internet would
        let id = UUID().uuidString.lowercased().prefix(8)
        let beyond = "berth-beyond-\(id)", near = "bn\(id)", far = "bf\(id)"
        let page = scenario.folder.appendingPathComponent("beyond")
        try FileManager.default.createDirectory(at: page, withIntermediateDirectories: true)
        try "beyond\n".write(to: page.appendingPathComponent("index.html"), atomically: true, encoding: .utf8)
        let inBeyond = ["/usr/bin/nsenter", "--net=/var/run/netns/\(beyond)"]
        for step in [
            ["/usr/sbin/ip", "netns", "add", beyond]
        ] { #expect(try await BerthProcess.runCommand(step, timeout: 30).status == 0, "\(step)") }
        // Deleted when the test ends, whatever its outcome: synchronously, as `defer` must (a task
        // would not be waited for when this is the run's last test). The server in it is the
        // scenario's child, which `finish()` kills.
        defer {
            let delete = Process()
            delete.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
            delete.arguments = ["netns", "delete", beyond]
            if (try? delete.run()) != nil { delete.waitUntilExit() }
        }
        for step in [
            ["/usr/sbin/ip", "link", "add", near, "type", "veth", "peer", "name", far],
            ["/usr/sbin/ip", "link", "set", far, "netns", beyond],
            ["/usr/sbin/ip", "addr", "add", "192.0.2.1/30", "dev", near],
            ["/usr/sbin/ip", "link", "set", near, "up"],
        ] {
            let result = try await engine.run(inNamespace: step)
            #expect(result.status == 0, "\(step): \(result.stderr)")
        }
        for step in [
            ["/usr/sbin/ip", "addr", "add", "192.0.2.2/30", "dev", far],
            ["/usr/sbin/ip", "link", "set", far, "up"],
            ["/usr/sbin/ip", "link", "set", "lo", "up"],
            ["/usr/sbin/ip", "route", "add", "default", "via", "192.0.2.1"],
        ] {
            let result = try await BerthProcess.runCommand(inBeyond + step, timeout: 30)
            #expect(result.status == 0, "\(step): \(result.stderr)")
        }
        // In the foreground, a child of the scenario's: `finish()` kills it at once, whenever the
        // test ends (the namespace's own cleanup above runs in a task the process may not wait for).
        _ = try scenario.launch(inBeyond + ["/bin/busybox", "httpd", "-f", "-p", "192.0.2.2:8080", "-h", page.path], stdout: scenario.folder.appendingPathComponent("beyond.log"))
        try scenario.write(
            Self.network(scenario, "sealed", spec: "{internal: true}")
                + Self.client(scenario, "open", networks: "")
                + Self.client(scenario, "closed", networks: "  networks: [sealed]")
        )

        // when
        let apply = try await BerthProcess.run(["apply", "-f", scenario.manifests.path, "--wait", "--timeout", "90s"], environment: scenario.environment, timeout: 150)

        // then: from the project's default network the page is reached; from the internal one not
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        try await NetnsEngine.waitUntil(timeout: .seconds(30), "open reaches the namespace beyond") {
            try await Self.fetch(engine, from: scenario.container("open"), "http://192.0.2.2:8080/").stdout == "beyond\n"
        }
        let sealed = try await Self.fetch(engine, from: scenario.container("closed"), "http://192.0.2.2:8080/")
        #expect(sealed.status != 0, "a container on an internal network reached beyond its namespace: \(sealed.stdout)")
    }

    @Test func networksGoWhenNothingUsesThemAndAStrangersNetworkIsNeverTouched() async throws {
        let engine = try NetnsEngine()
        let scenario = try await Scenario(dockerHost: engine.dockerHost)
        defer { scenario.finish() }
        let p = scenario.project
        let stranger = "berth-\(p)-legacy"
        try await scenario.docker("network", "create", stranger)
        scenario.dockerAtFinish("network", "rm", stranger)
        try scenario.write(
            Self.network(scenario, "back") + Self.network(scenario, "legacy")
                + Self.web(scenario, "web", page: "x", networks: "  networks: [default, back]")
                + Self.client(scenario, "other", networks: "")
        )
        let first = try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "90s")
        #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
        #expect(first.stdout.contains("network \(stranger) exists without Berth labels"), "\(first.stdout)")

        // when: web and back are no longer declared; other still uses the default network
        try scenario.write(Self.network(scenario, "legacy") + Self.client(scenario, "other", networks: ""))
        let second = try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "90s")

        // then: back goes after web; default stays while other uses it and the project exists
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(await Self.networkID(scenario, "berth-\(p)-back") == nil)
        #expect(await Self.networkID(scenario, "berth-\(p)-default") != nil)
        #expect(await Self.networkID(scenario, stranger) != nil)

        // when: the project is destroyed
        let destroy = try await scenario.berth("destroy", "-f", scenario.manifests.path, "--project", p)
        #expect(destroy.status == 0, "\(destroy.stdout)\(destroy.stderr)")
        #expect(await Self.networkID(scenario, "berth-\(p)-default") == nil)
        #expect(await Self.networkID(scenario, stranger) != nil, "a network without Berth's labels is never removed")
    }

    @Test func aJobJoinsItsProjectsNetworkAndReachesAServiceByName() async throws {
        let engine = try NetnsEngine()
        let scenario = try await Scenario(dockerHost: engine.dockerHost)
        defer { scenario.finish() }
        let p = scenario.project
        try scenario.write(Self.web(scenario, "web", page: "for-the-job-\(p)", networks: ""))
        let apply = try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "90s")
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        try scenario.startServe(Scenario.jobServeOptions)
        let job = """
            apiVersion: berth/v1
            kind: Job
            metadata: {name: fetch, project: \(p)}
            spec:
              image: \(scenario.image)
              pullPolicy: Never
              command: ["sh", "-c", "timeout 5 wget -qO- http://web:8080/ | grep -q for-the-job-\(p)"]
            """

        let id = try #require(try await scenario.submit(job).first)
        let ended = try await scenario.ended(id, within: 90)

        #expect(ended["state"] as? String == "finished", "\(ended)\n\(scenario.serveLog())")
    }

    @Test func invalidNetworkFieldsAreReportedWithFileLineAndField() async throws {
        let engine = try NetnsEngine()
        let scenario = try await Scenario(dockerHost: engine.dockerHost)
        defer { scenario.finish() }
        // fields wrong in their own document
        try scenario.write(
            Self.network(scenario, "back", spec: "{ipam: {subnet: 10.30.0.0/24, gateway: 10.31.0.1}}")
                + Self.network(scenario, "old", spec: "{external: true, driver: bridge}")
        )
        let fields = try await scenario.berth("validate", "-f", scenario.manifests.path)
        #expect(fields.status == 1)
        let fieldText = fields.stdout + fields.stderr
        #expect(fieldText.contains("project.yaml:"), "\(fieldText)")
        #expect(fieldText.contains("spec.ipam.gateway") && fieldText.contains("gateway 10.31.0.1 is outside subnet 10.30.0.0/24"), "\(fieldText)")
        #expect(fieldText.contains("spec.driver") && fieldText.contains("an external network is used as it is"), "\(fieldText)")

        // references between documents
        try scenario.write(
            Self.network(scenario, "back", spec: "{ipam: {subnet: 10.30.0.0/24}}")
                + Self.web(scenario, "web", page: "x", networks: "  networks: [{name: back, ipv4Address: 10.30.1.5}, nowhere]")
        )
        let references = try await scenario.berth("validate", "-f", scenario.manifests.path)
        #expect(references.status == 1)
        let referenceText = references.stdout + references.stderr
        #expect(referenceText.contains("project.yaml:"), "\(referenceText)")
        #expect(referenceText.contains("spec.networks[0].ipv4Address") && referenceText.contains("address 10.30.1.5 is outside subnet 10.30.0.0/24"), "\(referenceText)")
        #expect(referenceText.contains("spec.networks[1].name") && referenceText.contains("network \"nowhere\" is not declared"), "\(referenceText)")
    }
}
