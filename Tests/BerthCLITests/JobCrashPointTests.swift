import Foundation
import Testing

/// The controller SIGKILLed in each state a job passes through, on purpose (`BERTH_CRASH_AT`,
/// see `CrashPoint`), then started again: the job ends exactly once, on its first attempt, in the
/// one container made for it, and nothing is left behind. `JobCrashSafetyTests` kills at random
/// moments under load; this suite makes sure no state is left to chance.
@Suite("Jobs across a crash in each state")
struct JobCrashPointTests {
    enum Point: String, CaseIterable, CustomTestStringConvertible {
        case pending, claimed, created, started, exited, recorded
        var testDescription: String { rawValue }
    }

    @Test(arguments: Point.allCases, StoreChoice.allCases)
    func aJobEndsExactlyOnceWhateverStateTheControllerDiedIn(point: Point, store: StoreChoice) async throws {
        let scenario = try await Scenario(store)
        defer { scenario.finish() }
        // given: a serve that dies when the job reaches the point (pending: no serve yet)
        try scenario.write("")
        let creates = try await scenario.captureJobCreates()
        let ids = try await scenario.submit(jobYAML(scenario, "once", command: "sleep 1; echo done"))
        let id = try #require(ids.first)
        if point != .pending {
            scenario.extraEnvironment["BERTH_CRASH_AT"] = point.rawValue
            try scenario.startServe(Scenario.jobServeOptions)
            try await scenario.eventually(60, "serve crashes at \(point)") { scenario.serveHasExited }
            scenario.extraEnvironment["BERTH_CRASH_AT"] = nil
            let state = try await scenario.job(id)["state"] as? String
            let expected = ["claimed": "queued", "created": "queued", "started": "started", "exited": "started", "recorded": "finished"]
            #expect(state == expected[point.rawValue], "state after the crash at \(point)")
        }

        // when: a serve without the crash point
        try scenario.startServe(Scenario.jobServeOptions)

        // then
        let job = try await scenario.ended(id, within: 90)
        #expect(job["state"] as? String == "finished", "\(job)")
        #expect(job["attempt"] as? Int == 1, "\(job)")
        #expect((job["stdoutTail"] as? String)?.hasPrefix("done") == true, "\(job)")
        let events = (job["events"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
        #expect(events.filter { $0 == "Finished" }.count == 1 && events.filter { $0 == "Completed" }.count == 1, "one end recorded: \(events)")
        #expect(!events.contains("Requeued") && !events.contains("WorkerLost"), "never retried or lost: \(events)")
        try await scenario.eventually(60, "no worker container or scratch volume is left") { try await scenario.jobLeftovers().isEmpty }
        #expect(try await creates.stop() == [id], "one container was created for the job")
    }

    /// A cancel that arrives while no controller runs, after the worker exited but before its
    /// result was recorded, does not change the result: the work is done, and the job ends once,
    /// finished, with its output.
    @Test(arguments: StoreChoice.allCases)
    func aCancelAfterTheWorkerExitedLeavesItsResult(store: StoreChoice) async throws {
        let scenario = try await Scenario(store)
        defer { scenario.finish() }
        // given: the worker exited and the controller died before recording it
        try scenario.write("")
        let id = try #require(try await scenario.submit(jobYAML(scenario, "done", command: "sleep 1; echo done")).first)
        scenario.extraEnvironment["BERTH_CRASH_AT"] = Point.exited.rawValue
        try scenario.startServe(Scenario.jobServeOptions)
        try await scenario.eventually(60, "serve crashes after the worker exited") { scenario.serveHasExited }
        scenario.extraEnvironment["BERTH_CRASH_AT"] = nil

        // when: cancelled meanwhile, then a controller starts
        let cancel = try await scenario.berth("jobs", "cancel", id)
        #expect(cancel.status == 0, "\(cancel.stderr)")
        #expect(try await scenario.job(id)["cancelRequested"] as? Bool == true)
        try scenario.startServe(Scenario.jobServeOptions)

        // then
        let job = try await scenario.ended(id, within: 90)
        #expect(job["state"] as? String == "finished" && job["exitCode"] as? Int == 0, "\(job)")
        #expect((job["stdoutTail"] as? String)?.hasPrefix("done") == true, "\(job)")
        let events = (job["events"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }
        #expect(events.filter { $0 == "Finished" }.count == 1 && !events.contains("Cancelled"), "one end, not a cancel: \(events)")
        try await scenario.eventually(60, "no worker container or scratch volume is left") { try await scenario.jobLeftovers().isEmpty }
    }
}
