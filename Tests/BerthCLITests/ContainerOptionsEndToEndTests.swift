import Foundation
import Testing

/// Container options through `berth plan` and `apply` on the private engine: set, changed, and
/// read back from the `berth.spec` label of the running container.
@Suite("Container options end to end")
struct ContainerOptionsEndToEndTests {
    static func stack(_ scenario: Scenario, shmSize: String) -> String {
        serviceYAML(
            scenario, "web",
            extra: """
                  shmSize: \(shmSize)
                  readOnlyRootFilesystem: true
                  capDrop: [ALL]
                  tmpfs: [/run]
                  ulimits: {nofile: 1024}
                """)
            + serviceYAML(scenario, "plain")
    }

    @Test func changingOneOptionRecreatesOnlyThatServiceAndNamesTheField() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write(Self.stack(scenario, shmSize: "128Mi"))
        let first = try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "2m")
        try #require(first.status == 0, "\(first.stdout)\n\(first.stderr)")
        let web = scenario.container("web"), plain = scenario.container("plain")
        let webID = await scenario.inspect(web, "{{.Id}}"), plainID = await scenario.inspect(plain, "{{.Id}}")
        #expect(await scenario.inspect(web, "{{.HostConfig.ShmSize}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}}") == "134217728 true [ALL]")
        let unchanged = try await scenario.berth("plan", "-f", scenario.manifests.path, "--detailed-exitcode")
        #expect(unchanged.status == 0, "options read back from the container's label match: \(unchanged.stdout)")

        // when
        try scenario.write(Self.stack(scenario, shmSize: "256Mi"))
        let plan = try await scenario.berth("plan", "-f", scenario.manifests.path, "--detailed-exitcode")
        let apply = try await scenario.berth("apply", "-f", scenario.manifests.path, "--wait", "--timeout", "2m")

        // then
        #expect(plan.status == 2)
        #expect(plan.stdout.contains("(Service \(scenario.project)/web: spec changed: shmSize)"), "\(plan.stdout)")
        #expect(!plan.stdout.contains("Service \(scenario.project)/plain:"), "\(plan.stdout)")
        #expect(apply.status == 0, "\(apply.stdout)\n\(apply.stderr)")
        #expect(await scenario.inspect(web, "{{.Id}}") != webID)
        #expect(await scenario.inspect(web, "{{.HostConfig.ShmSize}} {{.State.Status}}") == "268435456 running")
        #expect(await scenario.inspect(plain, "{{.Id}}") == plainID)
        let settled = try await scenario.berth("plan", "-f", scenario.manifests.path, "--detailed-exitcode")
        #expect(settled.status == 0, "\(settled.stdout)")
    }

    @Test func aJobRunsWithItsOptionsAndItsTerminalOutputIsRecorded() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)
        let probe = "echo host=$(hostname); touch /written 2>/dev/null || echo readonly; touch /scratch/ok && echo tmpfs; [ -t 1 ] && echo tty"
        let options = "  hostname: worker\n  readOnlyRootFilesystem: true\n  tmpfs: [/scratch]\n  capDrop: [ALL]\n  tty: true\n  stdinOpen: true"

        // when
        let ids = try await scenario.submit(jobYAML(scenario, "probe", command: probe, extra: options))

        // then: the job's output came through the terminal's raw stream, all of it as stdout
        let job = try await scenario.ended(try #require(ids.first))
        #expect(job["state"] as? String == "finished", "\(job)")
        #expect(job["stdoutTail"] as? String == "host=worker\r\nreadonly\r\ntmpfs\r\ntty\r\n", "\(job)")
        #expect(job["stderrTail"] as? String == "")
    }
}
