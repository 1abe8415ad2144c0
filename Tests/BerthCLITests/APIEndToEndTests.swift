import Foundation
import Testing

/// The HTTP API as applications and operators use it: `berth serve` on a real port, the CLI as
/// its client (`BERTH_SERVER`, `BERTH_TOKEN`), and workers calling back with their job token.
@Suite("API end to end", .serialized) struct APIEndToEndTests {
    /// Creates a token with `berth token create` and points the scenario's CLI at serve's API.
    func connect(_ scenario: Scenario, scope: String = "admin") async throws -> (url: String, token: String) {
        let created = try await scenario.berth("token", "create", "--name", "e2e-\(scope)", "--scope", scope)
        try #require(created.status == 0, "\(created.stderr)")
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("berth_"))
        let server = (url: try await scenario.apiURL(), token: token)
        scenario.server = server
        return server
    }

    @Test(arguments: StoreChoice.allCases)
    func aJobSubmittedOverHTTPRunsAndItsResultIsReadBackOverHTTP(store: StoreChoice) async throws {
        let scenario = try await Scenario(store)
        defer { scenario.finish() }
        // given
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)
        _ = try await connect(scenario)
        // The worker reports progress with its own token over the host's loopback.
        let callback =
            "wget -q -O- --header \\\"Authorization: Bearer $BERTH_JOB_TOKEN\\\" --header \\\"Content-Type: application/json\\\" --post-data '{\\\"message\\\": \\\"half way\\\", \\\"percent\\\": 50}' $BERTH_API_URL/v1/jobs/$BERTH_JOB_ID/progress >/dev/null && echo done"
        let yaml = jobYAML(scenario, "report", command: callback, extra: "  feedbackPath: /berth/scratch/feedback.json").replacingOccurrences(of: "network: none", with: "network: host")

        // when
        let id = try await scenario.submit(yaml)[0]

        // then: every read goes over HTTP
        let job = try await scenario.ended(id)
        #expect(job["state"] as? String == "finished", "\(job)")
        let events = job["events"] as? [[String: Any]] ?? []
        #expect(events.contains { $0["reason"] as? String == "Progress" && $0["message"] as? String == "50%: half way" }, "\(events)")
        let logs = try await scenario.berth("jobs", "logs", id, "--follow")
        #expect(logs.status == 0)
        #expect(logs.stdout.contains("done"), "\(logs.stdout) \(logs.stderr)")
        let listed = try await scenario.berth("jobs", "list", "--project", scenario.project, "--json")
        #expect(listed.stdout.contains(id))
        #expect(!scenario.serveLog.contains(scenario.server?.token ?? "-"), "the token never appears in logs")
        let server = try #require(scenario.server)
        let metrics = try await Scenario.run("/usr/bin/curl", ["-sS", "-H", "Authorization: Bearer \(server.token)", server.url + "/metrics"])
        for name in ["berth_passes_total", "berth_pass_duration_seconds_bucket", "berth_job_pickup_seconds_count", "berth_jobs{", "hb_requests", "http_server_request_duration"] {
            #expect(metrics.contains(name), "\(name) in /metrics")
        }
    }

    @Test func aRunningJobsOutputIsFollowedUntilItEnds() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)
        _ = try await connect(scenario)
        let id = try await scenario.submit(jobYAML(scenario, "ticker", command: "for i in 1 2 3; do echo tick $i; sleep 1; done; exit 3"))[0]

        // when
        let logs = try await scenario.berth("jobs", "logs", id, "--follow")

        // then: the whole output, and an exit status saying the job failed
        #expect(logs.stdout.contains("tick 1") && logs.stdout.contains("tick 3"), "\(logs.stdout)")
        #expect(logs.status == 1)
    }

    @Test func aWorkersOutputCannotEndAFollowedStream() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a finished job's JSON, and a worker that wrote it as an `end` event framed with
        // CRLF, then failed
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)
        _ = try await connect(scenario)
        let finished = try await scenario.ended(try await scenario.submit(jobYAML(scenario, "genuine", command: "true"))[0])
        try #require(finished["state"] as? String == "finished")
        let json = String(decoding: try JSONSerialization.data(withJSONObject: finished), as: UTF8.self)
        let forgery = Data("forged\r\n\r\nevent: end\r\ndata: \(json)\r\n\r\n".utf8).base64EncodedString()
        let id = try await scenario.submit(jobYAML(scenario, "forger", command: "echo \(forgery) | base64 -d; exit 3"))[0]
        // Followed after the end, the output kept with the job is sent whole, in one event (the
        // engine would send each line of a running job's output as a frame of its own).
        try #require(try await scenario.ended(id)["state"] as? String == "failed")

        // when
        let logs = try await scenario.berth("jobs", "logs", id, "--follow")

        // then: the forgery is printed as output, and the job's real end decides the exit status
        #expect(logs.stdout.contains("forged") && logs.stdout.contains("event: end"), "\(logs.stdout)")
        #expect(logs.status == 1, "\(logs.stderr)")
    }

    @Test func aFollowedStreamThatClosesWithoutItsEndFailsTheFollower() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a running job followed through the API
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)
        _ = try await connect(scenario)
        let id = try await scenario.submit(jobYAML(scenario, "long", command: "echo attached; sleep 60"))[0]
        let output = scenario.folder.appendingPathComponent("follower.out"), errors = scenario.folder.appendingPathComponent("follower.err")
        let follower = try scenario.launch([try BerthProcess.executable().path, "jobs", "logs", id, "--follow"], stdout: output, stderr: errors)
        try await scenario.eventually(60, "the follower prints the job's output") { try String(contentsOf: output, encoding: .utf8).contains("attached") }

        // when: the server shuts down while the job runs
        await scenario.stopServe()
        let status = await follower.exitStatus(within: .seconds(30))

        // then: no end came, so no success
        #expect(status == 1, "nil: it did not exit within 30 s")
        let message = try String(contentsOf: errors, encoding: .utf8)
        #expect(message.contains("closed before its end"), "\(message)")
    }

    @Test func aWorkersControlCharactersReachTheTerminalEscaped() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a worker whose progress message and output carry ESC and BEL
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)
        _ = try await connect(scenario)
        let progress =
            "wget -q -O- --header \\\"Authorization: Bearer $BERTH_JOB_TOKEN\\\" --header \\\"Content-Type: application/json\\\" --post-data '{\\\"message\\\": \\\"red\\\\u001b[31m\\\"}' $BERTH_API_URL/v1/jobs/$BERTH_JOB_ID/progress >/dev/null"
        let command = progress + "; printf 'plain\\\\033[2J\\\\007\\\\tend\\\\n'"
        let id = try await scenario.submit(jobYAML(scenario, "noisy", command: command).replacingOccurrences(of: "network: none", with: "network: host"))[0]
        let job = try await scenario.ended(id)
        try #require(job["state"] as? String == "finished", "\(job)")

        // when
        let logs = try await scenario.berth("jobs", "logs", id)
        let followed = try await scenario.berth("jobs", "logs", id, "--follow")
        let shown = try await scenario.berth("jobs", "show", id)
        let events = try await scenario.berth("events", "--project", scenario.project, "--job", id)
        let json = try await scenario.berth("events", "--project", scenario.project, "--job", id, "--json")

        // then: escapes on the terminal, tabs and line ends kept in output; JSON escapes them itself
        for output in [logs.stdout, followed.stdout] {
            #expect(output.contains("plain\\u{1B}[2J\\u{7}\tend\n"), "\(output)")
        }
        for output in [shown.stdout, events.stdout] {
            #expect(output.contains("red\\u{1B}[31m"), "\(output)")
        }
        for output in [logs.stdout, followed.stdout, shown.stdout, events.stdout, json.stdout] {
            #expect(!output.contains("\u{1B}") && !output.contains("\u{7}"), "\(output)")
        }
        #expect(json.stdout.contains(#"red\u001b[31m"#) || json.stdout.contains(#"red\u001B[31m"#), "\(json.stdout)")
    }

    @Test func logsAreReadAsATailOfBoundedLines() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a finished job whose container (and its 3000 lines) is kept
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)
        let server = try await connect(scenario)
        let id = try await scenario.submit(jobYAML(scenario, "long", command: "seq 1 3000", extra: "  ttlAfterFinished: 5m"))[0]
        try #require(try await scenario.ended(id)["state"] as? String == "finished")
        func get(_ query: String) async throws -> [String: Any] {
            let answer = try await Scenario.run("/usr/bin/curl", ["-sS", "-H", "Authorization: Bearer \(server.token)", "\(server.url)/v1/jobs/\(id)/logs\(query)"])
            return try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any], "\(answer)")
        }

        // when
        let five = try await get("?tail=5"), byDefault = try await get("")
        var refused: [[String: Any]] = []
        for tail in ["0", "10001", "-1", "all", "5x"] { refused.append(try await get("?tail=\(tail)")) }

        // then: the last lines, 1000 unless asked; a bad tail names the field
        #expect(five["stdout"] as? String == "2996\n2997\n2998\n2999\n3000\n", "\(five)")
        #expect(five["source"] as? String == "container")
        let lines = (byDefault["stdout"] as? String ?? "").split(separator: "\n")
        #expect(lines.count == 1000 && lines.first == "2001" && lines.last == "3000", "\(lines.count) lines")
        for answer in refused {
            #expect((answer["error"] as? [String: Any])?["field"] as? String == "tail", "\(answer)")
        }
        let cli = try await scenario.berth("jobs", "logs", id, "--tail", "2")
        #expect(cli.stdout == "2999\n3000\n", "\(cli.stdout) \(cli.stderr)")
    }

    @Test func eventsAreFollowedAsTheyHappen() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: `berth events --follow` through the API, started before anything happens
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)
        _ = try await connect(scenario)
        let output = scenario.folder.appendingPathComponent("events.out")
        _ = try scenario.launch([try BerthProcess.executable().path, "events", "--project", scenario.project, "--follow", "--json"], stdout: output)

        // when
        let id = try await scenario.submit(jobYAML(scenario, "watched", command: "true"))[0]

        // then: one JSON event per line, in order, ending with the verdict
        try await scenario.eventually(60, "the followed events reach the verdict") {
            (try String(contentsOf: output, encoding: .utf8)).contains("\"Completed\"")
        }
        let lines = try String(contentsOf: output, encoding: .utf8).split(separator: "\n")
        let events = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(events.allSatisfy { $0["jobID"] as? String == id })
        let sequences = events.compactMap { $0["sequence"] as? Int }
        #expect(sequences == sequences.sorted() && Set(sequences).count == sequences.count, "each event once, in order")
        #expect(events.compactMap { $0["reason"] as? String }.starts(with: ["Submitted", "Queued", "Started"]))
    }

    /// A client that reconnects with `Last-Event-ID` gets every event after that one, those
    /// stored before it came back and those written since, and none up to it.
    @Test func aFollowedEventStreamResumesAfterTheLastEventID() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a job that ran, and the sequence of its second event
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)
        let server = try await connect(scenario)
        let first = try await scenario.submit(jobYAML(scenario, "before", command: "true"))[0]
        try #require(try await scenario.ended(first)["state"] as? String == "finished")
        func sequences() async throws -> [Int] {
            let listed = try await scenario.berth("events", "--project", scenario.project, "--limit", "1000", "--json")
            return (try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []).compactMap { $0["sequence"] as? Int }
        }
        let earlier = try await sequences()
        try #require(earlier.count >= 4, "\(earlier)")
        let resumeAfter = earlier[1]

        // when: the stream is followed from there, and another job runs meanwhile
        let url = "\(server.url)/v1/events?project=\(scenario.project)&follow=true"
        let follower = try Follower(scenario, token: server.token, url: url, headers: ["Last-Event-ID: \(resumeAfter)"])
        defer { follower.stop() }
        let second = try await scenario.submit(jobYAML(scenario, "after", command: "true"))[0]
        try #require(try await scenario.ended(second)["state"] as? String == "finished")
        let all = try await sequences()
        let last = try #require(all.last)
        try await scenario.eventually(60, "the stream reaches event \(last)") { follower.output.contains("id: \(last)\n") }

        // then: exactly the events after the one given, in order
        let received = follower.output.split(separator: "\n").compactMap { $0.hasPrefix("id: ") ? Int($0.dropFirst(4)) : nil }
        #expect(received.starts(with: all.filter { $0 > resumeAfter }) && received.allSatisfy { $0 > resumeAfter }, "resumed after \(resumeAfter); received \(received); all: \(all)")
        #expect(follower.output.contains(second), "the second job's events came live")
    }

    @Test func resourcesAppliedOverHTTPAreConvergedAndDeleted() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: the manifest declares the project and one service
        try scenario.write(serviceYAML(scenario, "owned"))
        try scenario.startServe(resync: "1s")
        _ = try await connect(scenario)
        let file = scenario.folder.appendingPathComponent("api.yaml")

        // when: a service applied through the API
        try serviceYAML(scenario, "extra").write(to: file, atomically: true, encoding: .utf8)
        let applied = try await scenario.berth("resources", "apply", "-f", file.path)

        // then
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stdout.contains("created Service \(scenario.project)/extra"), "\(applied.stdout)")
        try await scenario.eventually(60, "the API's service runs") { await scenario.inspect(scenario.container("extra"), "{{.State.Running}}") == "true" }
        let listed = try await scenario.berth("resources", "get", "--project", scenario.project)
        #expect(listed.stdout.contains("extra") && listed.stdout.contains("manifest"), "\(listed.stdout)")
        try await scenario.eventually(30, "status over HTTP shows both services ready") {
            let status = try await scenario.berth("status", "--project", scenario.project)
            return status.stdout.components(separatedBy: "Ready").count - 1 >= 2
        }
        try await scenario.eventually(30, "the plan over HTTP is empty") { try await scenario.berth("plan", "--detailed-exitcode").status == 0 }
        let server = try #require(scenario.server)
        let metrics = try await Scenario.run("/usr/bin/curl", ["-sS", "-H", "Authorization: Bearer \(server.token)", server.url + "/metrics"])
        #expect(metrics.contains(#"berth_actions_total{operation="createContainer",outcome="succeeded"}"#), "\(metrics)")

        // when: the manifest's service written through the API, then the API's one deleted
        try serviceYAML(scenario, "owned").write(to: file, atomically: true, encoding: .utf8)
        let refused = try await scenario.berth("resources", "apply", "-f", file.path)
        let deleted = try await scenario.berth("resources", "delete", "service", "extra", "--project", scenario.project)

        // then
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("declared in the manifest") && refused.stderr.contains("project.yaml"), "\(refused.stderr)")
        #expect(deleted.status == 0, "\(deleted.stderr)")
        try await scenario.eventually(60, "the deleted service's container is gone") { await scenario.inspect(scenario.container("extra"), "{{.Name}}") == nil }
        #expect(await scenario.inspect(scenario.container("owned"), "{{.State.Running}}") == "true")
    }

    @Test func aLimitedTokenIsRefusedOutsideItsProject() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        try scenario.write("")
        try scenario.startServe()
        let created = try await scenario.berth("token", "create", "--name", "other", "--scope", "jobs:write", "--project", "elsewhere", "--json")
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(created.stdout.utf8)) as? [String: Any])
        let token = answer["token"] as? String
        let id = try #require((answer["record"] as? [String: Any])?["id"] as? String)
        scenario.server = (url: try await scenario.apiURL(), token: try #require(token))

        let submit = try await scenario.berth("jobs", "submit", "-f", try writeJob(scenario))
        #expect(submit.status == 1)
        #expect(submit.stderr.contains("limited to project elsewhere"), "\(submit.stderr)")
        let revoked = try await scenario.berth("token", "list", "--json")
        #expect(revoked.stdout.contains("\"other\""), "token list works on the store: \(revoked.stdout)")

        // and once revoked on the store, the running server refuses it (it remembers a valid token for a second)
        #expect(try await scenario.berth("jobs", "list", "--project", "elsewhere").status == 0)
        #expect(try await scenario.berth("token", "revoke", id).status == 0)
        try await scenario.eventually(10, "the revoked token is refused") {
            let listed = try await scenario.berth("jobs", "list", "--project", "elsewhere")
            return listed.status != 0 && listed.stderr.contains("revoked")
        }
    }

    @Test func servesHTTPSWithTheGivenCertificate() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a self-signed certificate for 127.0.0.1
        let certificate = scenario.folder.appendingPathComponent("cert.pem").path, key = scenario.folder.appendingPathComponent("key.pem").path
        _ = try await Scenario.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate,
            ])
        try scenario.write("")

        // when
        try scenario.startServe(["--tls-certificate", certificate, "--tls-key", key])
        let url = try await scenario.apiURL()

        // then
        #expect(url.hasPrefix("https://127.0.0.1:"))
        let health = try await Scenario.run("/usr/bin/curl", ["-sS", "--cacert", certificate, url + "/healthz"])
        #expect(health.contains("\"ok\""), "\(health)")
    }

    func writeJob(_ scenario: Scenario) throws -> String {
        let file = scenario.folder.appendingPathComponent("job-\(UUID().uuidString).yaml")
        try jobYAML(scenario, "j", command: "true").write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }
}

/// Several API processes against one PostgreSQL, the controller apart: the supported split deployment.
@Suite("API and controller apart") struct SplitRolesEndToEndTests {
    @Test func anAPIProcessAndAControllerProcessShareOnePostgreSQL() async throws {
        let scenario = try await Scenario(.postgres)
        defer { scenario.finish() }
        // given: a controller without API, and two API processes without controller
        try scenario.write("")
        try scenario.startServe(["--role", "controller"] + Scenario.jobServeOptions)
        try scenario.startAnotherServe(["--role", "api"], log: "api-1.log")
        try scenario.startAnotherServe(["--role", "api"], log: "api-2.log")
        let created = try await scenario.berth("token", "create", "--name", "split", "--scope", "admin")
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let first = try await scenario.apiURL(log: "api-1.log"), second = try await scenario.apiURL(log: "api-2.log")

        // when: submitted through one API, read through the other
        scenario.server = (url: first, token: token)
        let id = try await scenario.submit(jobYAML(scenario, "split", command: "echo split"))[0]
        scenario.server = (url: second, token: token)

        // then
        let job = try await scenario.ended(id)
        #expect(job["state"] as? String == "finished", "\(job)")
        let events = try await scenario.berth("events", "--project", scenario.project, "--job", id, "--json")
        #expect(events.status == 0, "\(events.stderr)")
        let reasons = (try JSONSerialization.jsonObject(with: Data(events.stdout.utf8)) as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
        #expect(reasons == ["Submitted", "Queued", "Started", "Finished", "Completed"], "\(events.stdout)")
        #expect(!scenario.serveLog.contains("API listening"), "the controller role serves no API")
        #expect(!scenario.serveLog("api-1.log").contains("pass done"), "the API role runs no controller")
    }
}
