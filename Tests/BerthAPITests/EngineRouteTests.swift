@testable import BerthAPI
import BerthCore
import BerthDocker
import BerthStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The routes that read the engine (readiness, job output, plans), on an in-memory engine and a
/// real SQLite store: no Docker engine needed.
@Suite("Routes on an in-memory engine") struct EngineRouteTests {
    /// A job of project alpha submitted through the API and moved to `started` as a controller
    /// would, with its container's name.
    private func startedJob(_ fixture: APIFixture, _ client: any TestClientProtocol) async throws -> (job: JobRecord, container: String) {
        let now = Date()
        let job = try await client.call(.post, "/v1/jobs", token: fixture.tokens["jobs"], body: APIFixture.jobYAML("j")).decode(JobView.self)
        _ = try await fixture.store.claimJobs(controller: "test", engine: "engine-1", node: nil, limit: 1, projectLimits: [:], lease: .seconds(60))
        let started = try await fixture.store.transitionJob(job.id, from: .queued, to: .started, claim: JobClaim(controller: "test", fence: 1), update: JobUpdate(), now: now)
        return (started, ObjectName.jobContainer(project: "alpha", jobID: job.id))
    }

    @Test func readinessFollowsWhetherTheEngineAnswers() async throws {
        let engine = InMemoryEngine()
        let fixture = try await APIFixture(engine: engine)
        try await fixture.test { client in
            // when: the engine answers
            let ready = try await client.call(.get, "/readyz", token: fixture.tokens["read"])

            // then
            #expect(ready.status == .ok)
            #expect(try ready.json()["docker"] as? String == "ok", "\(ready.text)")

            // when: it stops answering
            engine.setReachable(false)
            let anonymous = try await client.call(.get, "/readyz", token: nil)
            let reader = try await client.call(.get, "/readyz", token: fixture.tokens["read"])

            // then: not ready, and only a reader learns why
            #expect(anonymous.status == .serviceUnavailable)
            #expect(anonymous.errorMessage() == "not ready", "\(anonymous.text)")
            #expect(reader.status == .serviceUnavailable)
            #expect(reader.errorMessage().contains("docker: cannot reach the in-memory engine"), "\(reader.text)")
        }
        await fixture.finish()
    }

    @Test func aRunningJobsOutputIsReadFromItsContainerAndAnEndedJobsFromTheStore() async throws {
        let engine = InMemoryEngine()
        let fixture = try await APIFixture(engine: engine)
        try await fixture.test { client in
            // given: a started job whose container has written to both streams
            let (job, container) = try await startedJob(fixture, client)
            engine.setLogs(ContainerLogs(stdout: Array("live out\n".utf8), stderr: Array("live err\n".utf8)), of: container)

            // when
            let live = try await client.call(.get, "/v1/jobs/\(job.id)/logs", token: fixture.tokens["read"]).decode(JobLogsView.self)

            // then
            #expect(live.source == "container")
            #expect(live.stdout == "live out\n")
            #expect(live.stderr == "live err\n")
            #expect(engine.logReads == [container])

            // when: the job ends with its tails kept, and it asks for no container to be kept
            _ = try await fixture.store.transitionJob(
                job.id, from: .started, to: .finished, claim: JobClaim(controller: "test", fence: 1), update: JobUpdate(exitCode: 0, stdoutTail: "kept out\n", stderrTail: ""), now: Date()
            )
            let ended = try await client.call(.get, "/v1/jobs/\(job.id)/logs", token: fixture.tokens["read"]).decode(JobLogsView.self)

            // then: the kept tails, and the engine is not asked again
            #expect(ended.source == "stored")
            #expect(ended.stdout == "kept out\n")
            #expect(engine.logReads == [container])
        }
        await fixture.finish()
    }

    @Test func followingARunningJobRelaysItsContainersOutputThenTheEndedJob() async throws {
        let engine = InMemoryEngine()
        let fixture = try await APIFixture(engine: engine)
        let store = fixture.store
        try await fixture.test { client in
            // given: a started job whose container writes a line to each stream, then exits and is recorded as failed
            let (job, container) = try await startedJob(fixture, client)
            let frames = [LogFrame(stream: .stdout, bytes: Array("hello\n".utf8)), LogFrame(stream: .stderr, bytes: Array("oops\n".utf8))]
            engine.setFollowed(frames, of: container) {
                _ = try? await store.transitionJob(job.id, from: .started, to: .failed, claim: JobClaim(controller: "test", fence: 1), update: JobUpdate(exitCode: 3), now: Date())
            }

            // when
            let stream = try await client.call(.get, "/v1/jobs/\(job.id)/logs?follow=true", token: fixture.tokens["read"])

            // then: each line as an event of its stream, then the job as it ended
            #expect(stream.status == .ok)
            var parser = ServerSentEventParser()
            let events = parser.feed(Array(stream.text.utf8))
            #expect(events.map(\.name) == ["stdout", "stderr", "end"], "\(stream.text)")
            #expect(events.first?.data == "hello")
            #expect(events.dropFirst().first?.data == "oops")
            let ended = try APIJSON.decoder().decode(JobView.self, from: Data((events.last?.data ?? "").utf8))
            #expect(ended.state == .failed)
            #expect(ended.exitCode == 3)
        }
        await fixture.finish()
    }

    @Test func aPlanIsMadeFromWhatTheEngineShowsAndRefusedWhenItCannotBeObserved() async throws {
        let engine = InMemoryEngine()
        let fixture = try await APIFixture(engine: engine)
        try await fixture.test { client in
            // when: an empty engine
            let answer = try await client.call(.get, "/v1/plan", token: fixture.tokens["admin"])

            // then: the manifests' volume and service are to be made
            #expect(answer.status == .ok, "\(answer.text)")
            let plan = try answer.decode(PlanView.Summary.self)
            #expect(plan.changes > 0)
            #expect(plan.text.contains("create volume berth-alpha-data"), "\(plan.text)")
            #expect(plan.text.contains("create container berth-alpha-owned-"), "\(plan.text)")

            // when: the engine cannot be observed
            engine.setReachable(false)
            let refused = try await client.call(.get, "/v1/plan", token: fixture.tokens["admin"])

            // then
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.errorMessage().contains("the engine could not be observed"), "\(refused.text)")
        }
        await fixture.finish()
    }

    @Test func theEnginesSocketIsNeverMountableEvenInAFolderThePolicyAllows() async throws {
        // given: an engine reached through a socket inside a folder project alpha may mount
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("berth-engine-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder + "/data", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        _ = FileManager.default.createFile(atPath: folder + "/engine.sock", contents: nil)
        let fixture = try await APIFixture(engine: InMemoryEngine(socketPath: folder + "/engine.sock"))
        let policy = APIFixture.manifest.replacingOccurrences(of: "metadata: {name: alpha}\n", with: "metadata: {name: alpha}\nspec:\n  policy: {hostPaths: [\"\(folder)\"]}\n")
        try policy.write(toFile: fixture.manifestFile, atomically: true, encoding: .utf8)
        try await fixture.test { client in
            let token = fixture.tokens["resources-alpha"]
            // when
            let data = try await client.call(.put, "/v1/resources/service/alpha/web", token: token, body: APIFixture.serviceYAML("web", extra: "  volumes: [\"\(folder)/data:/data\"]"))
            let socket = try await client.call(
                .put, "/v1/resources/service/alpha/tool", token: token, body: APIFixture.serviceYAML("tool", extra: "  volumes: [\"\(folder)/engine.sock:/engine.sock\"]"))

            // then
            #expect(data.status == .created, "\(data.text)")
            #expect(socket.status == .forbidden, "\(socket.text)")
            #expect(try socket.error()["field"] as? String == "spec.volumes[0]")
            #expect(socket.errorMessage().contains("host path \(folder)/engine.sock is never allowed"), "\(socket.text)")
        }
        await fixture.finish()
    }
}
