import Foundation
import Testing

/// The controller as users meet it: `berth apply`, `plan`, `serve`, `status` and `destroy` against
/// the private dockerd, on both stores.
@Suite("Controller end to end")
struct ControllerEndToEndTests {
    /// A service with a health check and a dependent, sharing a volume.
    static func stack(_ scenario: Scenario, greeting: String = "hello", webSleep: Int = 300) -> String {
        """
        apiVersion: berth/v1
        kind: Volume
        metadata: {name: data, project: \(scenario.project)}
        spec: {reclaimPolicy: Delete}
        ---

        """
            + serviceYAML(
                scenario, "web", command: "echo up > /data/state; sleep \(webSleep)",
                extra: """
                      volumes: ["data:/data"]
                      healthcheck: {command: ["test", "-f", "/data/state"], interval: 1s, timeout: 5s, retries: 3}
                    """)
            + serviceYAML(
                scenario, "worker",
                extra: """
                      env: {GREETING: \(greeting)}
                      dependsOn: [{name: web, condition: healthy}]
                    """)
    }

    @Test(arguments: StoreChoice.allCases)
    func applyConvergesAndAppliesNothingTheSecondTime(store: StoreChoice) async throws {
        let scenario = try await Scenario(store)
        defer { scenario.finish() }
        // given
        try scenario.write(Self.stack(scenario))

        // when
        let first = try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "2m")

        // then
        #expect(first.status == 0, "stdout: \(first.stdout)\nstderr: \(first.stderr)")
        #expect(first.stdout.contains("+ create container \(scenario.container("web"))"))
        #expect(try await scenario.inspect(scenario.container("web"), "{{.State.Health.Status}}") == "healthy")
        #expect(try await scenario.inspect(scenario.container("worker"), "{{.State.Status}}") == "running")
        let statuses = try await scenario.statuses()
        #expect(statuses["Service/web"]?["phase"] as? String == "Ready")
        #expect(statuses["Service/worker"]?["readyReplicas"] as? Int == 1)
        #expect(statuses["Volume/data"]?["phase"] as? String == "Ready")

        let plan = try await scenario.berth("plan", "-f", scenario.manifests.path, "--detailed-exitcode")
        #expect(plan.status == 0, "stdout: \(plan.stdout)")
        #expect(plan.stdout.contains("No changes."))
        let second = try await scenario.berth("apply", "-f", scenario.manifests.path)
        #expect(second.status == 0)
        #expect(second.stdout.contains("No changes."), "\(second.stdout)")
    }

    @Test(arguments: StoreChoice.allCases)
    func serveBringsBackKilledAndRemovedContainers(store: StoreChoice) async throws {
        let scenario = try await Scenario(store)
        defer { scenario.finish() }
        // given: a resync too rare to matter, so only engine events can bring the repairs
        try scenario.write(serviceYAML(scenario, "app"))
        try scenario.startServe(resync: "10m")
        let name = scenario.container("app")
        try await scenario.eventually(30, "\(name) runs") { await scenario.inspect(name, "{{.State.Status}}") == "running" }
        let firstStart = await scenario.inspect(name, "{{.State.StartedAt}}")
        let firstID = await scenario.inspect(name, "{{.Id}}")

        // when killed
        try await scenario.docker("kill", name)
        // then it is started again
        try await scenario.eventually(20, "\(name) is started again after docker kill") {
            let (status, started) = (await scenario.inspect(name, "{{.State.Status}}"), await scenario.inspect(name, "{{.State.StartedAt}}"))
            return status == "running" && started != firstStart
        }
        #expect(await scenario.inspect(name, "{{.Id}}") == firstID)

        // when removed
        try await scenario.docker("rm", "-f", name)
        // then it is created again
        try await scenario.eventually(20, "\(name) is recreated after docker rm -f") {
            let (status, id) = (await scenario.inspect(name, "{{.State.Status}}"), await scenario.inspect(name, "{{.Id}}"))
            return status == "running" && id != firstID
        }
        try await scenario.eventually(10, "the status records the restart") { (try await scenario.statuses()["Service/app"]?["restartCount"] as? Int ?? 0) >= 1 }
        #expect(try await scenario.containers() == [name])
    }

    @Test func changingOneServicesEnvRecreatesOnlyThatServiceAndNamesTheField() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write(Self.stack(scenario))
        let first = try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "2m")
        try #require(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        let webID = await scenario.inspect(scenario.container("web"), "{{.Id}}")
        let workerID = await scenario.inspect(scenario.container("worker"), "{{.Id}}")

        // when
        try scenario.write(Self.stack(scenario, greeting: "bonjour"))
        let plan = try await scenario.berth("plan", "-f", scenario.manifests.path, "--detailed-exitcode")
        let apply = try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "2m")

        // then
        #expect(plan.status == 2)
        #expect(plan.stdout.contains("spec changed: env.GREETING"), "\(plan.stdout)")
        #expect(!plan.stdout.contains("Service \(scenario.project)/web:"), "\(plan.stdout)")
        #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
        #expect(await scenario.inspect(scenario.container("web"), "{{.Id}}") == webID)
        #expect(await scenario.inspect(scenario.container("worker"), "{{.Id}}") != workerID)
        #expect(await scenario.inspect(scenario.container("worker"), "{{range .Config.Env}}{{println .}}{{end}}")?.contains("GREETING=bonjour") == true)
    }

    @Test func removingAServiceRemovesItsContainersAndLeavesOtherProjectsAlone() async throws {
        let scenario = try await Scenario()
        let other = try await Scenario()
        defer {
            scenario.finish()
            other.finish()
        }
        // given
        try scenario.write(serviceYAML(scenario, "keep") + serviceYAML(scenario, "drop"))
        try other.write(serviceYAML(other, "bystander"))
        try #require(try await scenario.berth("apply", "-f", scenario.manifests.path).status == 0)
        try #require(try await scenario.berth("apply", "-f", other.manifests.path).status == 0)

        // when
        try scenario.write(serviceYAML(scenario, "keep"))
        let apply = try await scenario.berth("apply", "-f", scenario.manifests.path)

        // then
        #expect(apply.status == 0, "\(apply.stderr)")
        #expect(apply.stdout.contains("- remove container \(scenario.container("drop")) (Service \(scenario.project)/drop: orphaned: no longer declared)"), "\(apply.stdout)")
        #expect(try await scenario.containers() == [scenario.container("keep")])
        #expect(try await other.containers() == [other.container("bystander")])
    }

    @Test func aFailingHealthCheckIsRestartedWithGrowingBackoff() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: healthy only while /tmp/ok exists, which no start creates
        try scenario.write(
            serviceYAML(
                scenario, "flaky",
                extra: """
                      healthcheck: {command: ["test", "-f", "/tmp/ok"], interval: 1s, timeout: 5s, retries: 1}
                    """))
        let name = scenario.container("flaky")

        // The engine's own record of every start: polling `docker inspect` on a loaded host can
        // be slower than the restarts and miss some (a full run once timed out that way while
        // Berth had restarted the container seven times).
        let engine = try await Scenario.EventCapture(
            scenario, filters: ["type=container", "event=start", "label=berth.project=\(scenario.project)"], format: "{{.TimeNano}}")

        // when
        try scenario.startServe()

        // then: restarted again and again, each wait longer than the one before. The engine's
        // start times are compared (not when this test noticed them); a gap is the health check
        // noticing (slow on a loaded host) plus the backoff: none before the first restart, then
        // 1 s doubling, so the fifth gap waits 8 s more than the first.
        try await scenario.eventually(120, "Berth restarted \(name) five times") {
            (try await scenario.statuses()["Service/flaky"]?["restartCount"] as? Int ?? 0) >= 5
        }
        let starts = try await engine.stop().compactMap { Double($0.trimmingCharacters(in: .whitespaces)).map { $0 / 1e9 } }.sorted()
        try #require(starts.count >= 6, "the engine started the container \(starts.count) times")
        let gaps = zip(starts.dropFirst(), starts).map { $0 - $1 }
        #expect(gaps[4] > gaps[0] + 4, "gaps between restarts: \(gaps)")
        #expect(scenario.serveLog.contains("unhealthy for"))
    }

    @Test func aContainerThatCrashesAtStartIsInCrashLoopBackOff() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write(serviceYAML(scenario, "crasher", command: "echo broken config >&2; exit 3"))

        // when
        try scenario.startServe()

        // then
        try await scenario.eventually(40, "status shows CrashLoopBackOff") {
            let status = try await scenario.statuses()["Service/crasher"]
            let conditions = status?["conditions"] as? [[String: Any]] ?? []
            return status?["phase"] as? String == "Degraded" && conditions.contains { $0["reason"] as? String == "CrashLoopBackOff" }
        }
        let text = try await scenario.berth("status", "--project", scenario.project)
        #expect(text.stdout.contains("CrashLoopBackOff"), "\(text.stdout)")
        #expect(text.stdout.contains("exited with code 3"), "\(text.stdout)")
    }

    @Test func dataInAVolumeSurvivesARecreate() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write(Self.stack(scenario))
        try #require(try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "2m").status == 0)
        try await scenario.docker("exec", scenario.container("web"), "sh", "-c", "echo precious > /data/file")

        // when: web is recreated (its command changes)
        try scenario.write(Self.stack(scenario, webSleep: 301))
        let apply = try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "2m")

        // then
        #expect(apply.stdout.contains("spec changed: command"), "\(apply.stdout)")
        #expect(try await scenario.docker("exec", scenario.container("web"), "cat", "/data/file") == "precious")
    }

    @Test func anUnlabelledContainerWithTheNameIsReportedNotRemoved() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        let name = scenario.container("taken")
        let foreign = try await scenario.docker("create", "--name", name, "--network", "none", scenario.image, "sleep", "300")
        try scenario.write(serviceYAML(scenario, "taken"))

        // when
        let apply = try await scenario.berth("apply", "-f", scenario.manifests.path)

        // then
        #expect(apply.stdout.contains("container name \(name) is taken by a container without Berth labels"), "\(apply.stdout)")
        #expect(await scenario.inspect(name, "{{.Id}}") == foreign)
    }

    @Test func aMissingImageIsAClearErrorOfThatServiceOnly() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write(serviceYAML(scenario, "fine") + serviceYAML(scenario, "ghost").replacingOccurrences(of: scenario.image, with: "localhost/no-such-image:1"))

        // when
        let apply = try await scenario.berth("apply", "-f", scenario.manifests.path)

        // then
        #expect(apply.status == 1)
        #expect(apply.stderr.contains("Service \(scenario.project)/ghost: image localhost/no-such-image:1"), "\(apply.stderr)")
        let statuses = try await scenario.statuses()
        #expect(statuses["Service/ghost"]?["phase"] as? String == "Failed")
        #expect(statuses["Service/ghost"]?["nextAttemptAt"] != nil)
        #expect(statuses["Service/fine"]?["phase"] as? String == "Ready")
    }

    @Test func destroyRemovesContainersAndOnlyDeletableVolumesWhenAsked() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write(
            Self.stack(scenario) + """
                apiVersion: berth/v1
                kind: Volume
                metadata: {name: keep, project: \(scenario.project)}
                spec: {reclaimPolicy: Retain}

                """)
        try #require(try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "2m").status == 0)
        try FileManager.default.removeItem(at: scenario.manifests.appendingPathComponent("project.yaml"))

        // when
        let withoutVolumes = try await scenario.berth("destroy", "--project", scenario.project)
        let volumesAfterFirst = try await scenario.docker("volume", "ls", "-q", "--filter", "label=berth.project=\(scenario.project)")
        let withVolumes = try await scenario.berth("destroy", "--project", scenario.project, "--volumes")

        // then
        #expect(withoutVolumes.status == 0, "\(withoutVolumes.stderr)")
        #expect(volumesAfterFirst.split(separator: "\n").count == 2)
        #expect(withVolumes.status == 0, "\(withVolumes.stderr)")
        #expect(try await scenario.containers().isEmpty)
        let remaining = try await scenario.docker("volume", "ls", "-q", "--filter", "label=berth.project=\(scenario.project)")
        #expect(remaining == "berth-\(scenario.project)-keep")
        #expect(try await scenario.statuses().isEmpty)
    }

    @Test(arguments: StoreChoice.allCases)
    func aControllerKilledDuringARollingUpdateFinishesItWhenStartedAgain(store: StoreChoice) async throws {
        let scenario = try await Scenario(store)
        defer { scenario.finish() }
        // given: three healthy replicas, updated one at a time (start-first: no host ports)
        func replicas(_ version: String) -> String {
            serviceYAML(
                scenario, "pool", command: "sleep 300",
                extra: """
                      replicas: 3
                      env: {VERSION: "\(version)"}
                      healthcheck: {command: ["true"], interval: 1s, timeout: 5s, retries: 3}
                    """)
        }
        try scenario.write(replicas("1"))
        try #require(try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "2m").status == 0)
        try scenario.startServe()
        let oldIDs = await scenario.containerIDs("pool", replicas: 3)

        // when: the update is under way, the controller is killed
        try scenario.write(replicas("2"))
        try await scenario.eventually(30, "the rolling update has begun") { try await scenario.containers().contains { $0.hasSuffix("-old") } }
        await scenario.stopServe(kill: true)
        try scenario.startServe()

        // then: every replica runs the new spec, nothing left over, nothing duplicated
        try await scenario.eventually(90, "all three replicas run version 2") {
            let names = try await scenario.containers()
            guard names == (0..<3).map({ scenario.container("pool", $0) }) else { return false }
            for name in names {
                guard await scenario.inspect(name, "{{range .Config.Env}}{{println .}}{{end}}")?.contains("VERSION=2") == true,
                    await scenario.inspect(name, "{{.State.Health.Status}}") == "healthy"
                else { return false }
            }
            return true
        }
        let newIDs = await scenario.containerIDs("pool", replicas: 3)
        #expect(newIDs.isDisjoint(with: oldIDs))
    }
}

/// What `serve` does when the host or the manifests misbehave.
@Suite("Controller end to end: reboots, scaling, bad edits")
struct ControllerResilienceTests {
    @Test func afterAHostRebootDependenciesStartFirst() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: the stack ran, then every container stopped (as after a reboot: restart policy `no`)
        try scenario.write(ControllerEndToEndTests.stack(scenario))
        try #require(try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "2m").status == 0)
        try await scenario.docker("stop", "-t", "1", scenario.container("worker"), scenario.container("web"))

        // when
        try scenario.startServe()

        // then: web is healthy before worker starts
        try await scenario.eventually(60, "both run again") {
            await scenario.inspect(scenario.container("worker"), "{{.State.Status}}") == "running"
        }
        let webStarted = try dockerTime(try #require(await scenario.inspect(scenario.container("web"), "{{.State.StartedAt}}")))
        let workerStarted = try dockerTime(try #require(await scenario.inspect(scenario.container("worker"), "{{.State.StartedAt}}")))
        // web needs a second before its first health check passes; worker waits for that.
        #expect(workerStarted.timeIntervalSince(webStarted) >= 0.5, "web started \(webStarted), worker \(workerStarted)")
    }

    /// Docker's RFC 3339 times with nanoseconds (`2026-11-23T14:31:35.123456789Z`).
    private func dockerTime(_ text: String) throws -> Date {
        let parts = text.split(separator: ".", maxSplits: 1)
        let whole = try Date(String(parts[0]) + "Z", strategy: .iso8601)
        let fraction = parts.count > 1 ? Double("0." + parts[1].prefix { $0.isNumber }) ?? 0 : 0
        return whole.addingTimeInterval(fraction)
    }

    @Test func scalingUpAndDownAddsAndRemovesReplicasFromTheTop() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        func pool(_ replicas: Int) -> String { serviceYAML(scenario, "pool", extra: "  replicas: \(replicas)") }
        try scenario.write(pool(1))
        try #require(try await scenario.berth("apply", "-f", scenario.manifests.path).status == 0)
        let first = await scenario.inspect(scenario.container("pool", 0), "{{.Id}}")

        // when scaled up
        try scenario.write(pool(3))
        let up = try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "1m")
        // then
        #expect(up.status == 0, "\(up.stdout)\n\(up.stderr)")
        #expect(try await scenario.containers() == (0..<3).map { scenario.container("pool", $0) })
        #expect((try await scenario.statuses()["Service/pool"]?["readyReplicas"] as? Int) == 3)

        // when scaled down
        try scenario.write(pool(1))
        let down = try await scenario.berth("apply", "-f", scenario.manifests.path)
        // then
        #expect(down.stdout.contains("surplus replica (1 desired)"), "\(down.stdout)")
        #expect(try await scenario.containers() == [scenario.container("pool", 0)])
        #expect(await scenario.inspect(scenario.container("pool", 0), "{{.Id}}") == first)
    }

    @Test func anInvalidManifestEditUnderServeKeepsWhatRunsAndSaysWhereTheProblemIs() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write(serviceYAML(scenario, "steady"))
        try scenario.startServe(["--log-level", "debug"])
        let name = scenario.container("steady")
        try await scenario.eventually(30, "\(name) runs") { await scenario.inspect(name, "{{.State.Status}}") == "running" }
        let id = await scenario.inspect(name, "{{.Id}}")

        // when: the service is edited into something invalid
        try scenario.write(serviceYAML(scenario, "steady", extra: "  replicas: many"))

        // then
        try await scenario.eventually(20, "serve reports the problem") { scenario.serveLog.contains("keeping the last good one") }
        #expect(scenario.serveLog.contains("project.yaml:"), "\(scenario.serveLog)")
        #expect(scenario.serveLog.contains("replicas"))
        // a pass on the last good state after the edit was read
        try await scenario.eventually(60, "serve makes a pass after the invalid edit") {
            scenario.serveLog.passDone(afterThe: 1, "keeping the last good one")
        }
        #expect(await scenario.inspect(name, "{{.Id}}") == id)
        #expect(await scenario.inspect(name, "{{.State.Status}}") == "running")
    }
}
