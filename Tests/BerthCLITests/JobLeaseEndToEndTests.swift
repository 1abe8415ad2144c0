import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#else
    import Darwin
#endif

/// Job leases with real processes: two `berth serve` on one PostgreSQL, the one running a job
/// frozen with SIGSTOP past its 3 s lease. On one engine the other adopts the running container;
/// on two engines the attempt is lost and retried on the other, and the frozen one removes its
/// container once it runs again.
@Suite("Job leases end to end")
struct JobLeaseEndToEndTests {
    static let options = Scenario.jobServeOptions + ["--job-lease", "3s"]

    /// The job's containers on the engine behind `docker`, as `id state`, one per line.
    static func containers(_ id: String, _ docker: ([String]) async throws -> String) async throws -> [String] {
        try await docker(["ps", "-a", "--filter", "label=berth.job=\(id)", "--format", "{{.ID}} {{.State}}"]).split(separator: "\n").map(String.init)
    }

    /// Waits until one of the serves claimed and started the job; returns the claimer's name.
    static func holder(_ scenario: Scenario, _ id: String) async throws -> String {
        var holder = ""
        try await scenario.eventually(60, "job \(id) starts") {
            let job = try await scenario.job(id)
            holder = job["claimedBy"] as? String ?? ""
            return job["state"] as? String == "started"
        }
        return holder
    }

    @Test func onOneEngineTheOtherControllerAdoptsTheRunningContainerAndTheJobEndsOnce() async throws {
        let scenario = try await Scenario(.postgres)
        defer { scenario.finish() }
        // given: two controllers on one engine, one running a long job
        try scenario.write("")
        try scenario.startServe(Self.options + ["--controller-id", "alpha"])
        try scenario.startAnotherServe(Self.options + ["--controller-id", "beta"], log: "beta.log")
        let pids = ["alpha": scenario.servePID(), "beta": scenario.servePID("beta.log")]
        let id = try #require(try await scenario.submit(jobYAML(scenario, "long", command: "sleep 15; echo done")).first)
        let holder = try await Self.holder(scenario, id)
        let other = holder == "alpha" ? "beta" : "alpha"
        let frozen = try #require(pids[holder] ?? nil, "claimed by \(holder)")
        let first = try await Self.containers(id, scenario.docker)
        try #require(first.count == 1 && first[0].hasSuffix(" running"), "\(first)")

        // when: the holder is frozen past its lease, and runs again once the other took over
        kill(frozen, SIGSTOP)
        var samples: [[String]] = []
        do {
            try await scenario.eventually(60, "\(other) takes the job over") {
                samples.append(try await Self.containers(id, scenario.docker))
                return try await scenario.job(id)["claimedBy"] as? String == other
            }
        } catch {
            kill(frozen, SIGCONT)
            throw error
        }
        kill(frozen, SIGCONT)
        var ended: [String: Any] = [:]
        try await scenario.eventually(60, "job \(id) ends") {
            samples.append(try await Self.containers(id, scenario.docker))
            ended = try await scenario.job(id)
            return ["finished", "failed", "cancelled"].contains(ended["state"] as? String ?? "")
        }

        // then: one container all along, the same one, and one end
        let containerID = first[0].split(separator: " ")[0]
        #expect(samples.allSatisfy { $0.count <= 1 }, "never two containers: \(samples)")
        #expect(samples.allSatisfy { $0.allSatisfy { $0.hasPrefix(containerID + " ") } }, "always the first container: \(samples)")
        #expect(ended["state"] as? String == "finished" && ended["attempt"] as? Int == 1 && ended["stdoutTail"] as? String == "done\n", "\(ended)")
        let reasons = JobEndToEndTests.events(ended).map(\.reason)
        #expect(reasons.filter { $0 == "Finished" }.count == 1 && reasons.filter { $0 == "Completed" }.count == 1, "\(reasons)")
        #expect(reasons.filter { $0 == "TakenOver" }.count == 1 && !reasons.contains("WorkerLost") && !reasons.contains("Requeued"), "\(reasons)")
        try await scenario.eventually(20, "no worker container or scratch volume is left") { try await scenario.jobLeftovers().isEmpty }
        #expect(!scenario.serveHasExited)
    }

    @Test func onTwoEnginesTheAttemptIsRetriedOnTheOtherAndTheFrozenOneRemovesItsContainer() async throws {
        let netns = try NetnsEngine()
        let scenario = try await Scenario(.postgres)
        defer {
            netns.removeObjects(ofProject: scenario.project)
            scenario.finish()
        }
        // given: a controller on each engine, one running a long job
        try scenario.write("")
        try scenario.startServe(Self.options + ["--controller-id", "host"])
        try scenario.startAnotherServe(Self.options + ["--controller-id", "netns"], log: "netns.log", environment: ["DOCKER_HOST": netns.dockerHost])
        let pids = ["host": scenario.servePID(), "netns": scenario.servePID("netns.log")]
        let engines: [String: ([String]) async throws -> String] = [
            "host": { try await scenario.docker($0) }, "netns": { try await netns.dockerCommand($0).stdout },
        ]
        let id = try #require(try await scenario.submit(jobYAML(scenario, "long", command: "sleep 12; echo done", extra: "  backoffLimit: 1")).first)
        let holder = try await Self.holder(scenario, id)
        let other = holder == "host" ? "netns" : "host"
        let frozen = try #require(pids[holder] ?? nil, "claimed by \(holder)")
        let frozenEngine = try #require(engines[holder]), otherEngine = try #require(engines[other])
        try #require(try await Self.containers(id, frozenEngine).count == 1)
        let firstEngineID = try #require(try await scenario.job(id)["claimedEngine"] as? String, "the claim names its engine")

        // when: the holder is frozen past its lease until the other runs attempt 2
        kill(frozen, SIGSTOP)
        do {
            try await scenario.eventually(90, "attempt 2 runs on \(other)'s engine") {
                let job = try await scenario.job(id)
                return job["attempt"] as? Int == 2 && job["state"] as? String == "started" && job["claimedBy"] as? String == other
            }
        } catch {
            kill(frozen, SIGCONT)
            throw error
        }
        #expect(try await Self.containers(id, frozenEngine).count == 1, "the frozen controller's container is still there while it is frozen")
        let secondEngineID = try await scenario.job(id)["claimedEngine"] as? String
        #expect(secondEngineID != nil && secondEngineID != firstEngineID, "the job's claim moved to the other engine: \(firstEngineID) → \(String(describing: secondEngineID))")
        let clock = ContinuousClock()
        let resumed = clock.now
        kill(frozen, SIGCONT)

        // then: within about a renew interval (1 s; the bound allows for a loaded machine) the
        // frozen controller's container is gone, and the job ends once, on attempt 2
        let frozenLog = holder == "host" ? "serve.log" : "netns.log"
        do {
            try await scenario.eventually(20, "the first attempt's container on \(holder)'s engine is gone") { try await Self.containers(id, frozenEngine).isEmpty }
        } catch {
            Issue.record("the frozen controller's log:\n\(scenario.serveLog(frozenLog).suffix(4000))")
            throw error
        }
        let gone = clock.now - resumed
        #expect(gone < .seconds(10), "gone \(gone) after SIGCONT")
        let ended = try await scenario.ended(id, within: 60)
        #expect(ended["state"] as? String == "finished" && ended["attempt"] as? Int == 2, "\(ended)")
        let reasons = JobEndToEndTests.events(ended).map(\.reason)
        #expect(reasons.contains("TakenOver") && reasons.contains("WorkerLost") && reasons.filter { $0 == "Finished" }.count == 1, "\(reasons)")
        try await scenario.eventually(20, "\(other)'s engine keeps nothing of the job") { try await Self.containers(id, otherEngine).isEmpty }
        let log = scenario.serveLog(frozenLog)
        #expect(log.contains("took the job over on engine"), "the frozen controller said why it removed its container:\n\(log.suffix(3000))")
    }
}
