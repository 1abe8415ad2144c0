import BerthCore
import Foundation
import Testing

private func utc(_ text: String) throws -> Date {
    try Date(text, strategy: .iso8601)
}

private func cron(
    _ schedule: String,
    timeZone: String = "UTC",
    policy: CronJobSpec.ConcurrencyPolicy = .forbid,
    startingDeadline: TimeSpan? = nil,
    suspend: Bool = false
) throws -> CronJobSpec {
    CronJobSpec(
        schedule: try CronSchedule(parsing: schedule), timeZone: try TimeZoneName(parsing: timeZone),
        concurrencyPolicy: policy, startingDeadline: startingDeadline, suspend: suspend,
        jobTemplate: JobSpec(container: ContainerSpec(image: try ImageReference(parsing: "busybox")))
    )
}

/// A controller's view of one CronJob over time: a clock it moves by hand, the last scheduled time it
/// remembers, and its jobs, which each run for `jobDuration` after they are submitted.
private struct SimulatedController {
    var spec: CronJobSpec
    var now: Date
    var jobDuration: TimeInterval
    var lastScheduled: Date?
    let firstSeen: Date
    var started: [Date] = []
    var skipped: [Date] = []
    private var endsOfRunningJobs: [Date] = []

    init(spec: CronJobSpec, now: Date, jobDuration: TimeInterval) {
        self.spec = spec
        self.now = now
        self.firstSeen = now
        self.jobDuration = jobDuration
    }

    /// Moves the clock by `step` at a time until `end`, deciding after every step.
    mutating func run(until end: Date, step: TimeInterval) {
        while now < end {
            now = min(end, now.addingTimeInterval(step))
            endsOfRunningJobs.removeAll { $0 <= now }
            let decision = CronPlanner.decide(
                spec, lastScheduled: lastScheduled, firstSeen: firstSeen, activeJobs: endsOfRunningJobs.count, now: now
            )
            if decision.replaceActive { endsOfRunningJobs.removeAll() }
            if let run = decision.run {
                started.append(run)
                endsOfRunningJobs.append(now.addingTimeInterval(jobDuration))
            }
            if decision.skippedBecauseActive, let scheduled = decision.lastScheduled { skipped.append(scheduled) }
            lastScheduled = decision.lastScheduled ?? lastScheduled
        }
    }
}

@Suite("Cron planner: when a CronJob submits a job")
struct CronPlannerTests {
    // MARK: Due runs

    @Test func runsTheDueFireAndReportsTheNextOne() throws {
        // given
        let spec = try cron("*/5 * * * *")
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2025-01-01T12:00:00Z"), firstSeen: try utc("2025-01-01T08:00:00Z"),
            activeJobs: 0, now: try utc("2025-01-01T12:05:02Z")
        )
        // then
        #expect(
            decision
                == CronDecision(
                    run: try utc("2025-01-01T12:05:00Z"), lastScheduled: try utc("2025-01-01T12:05:00Z"),
                    next: try utc("2025-01-01T12:10:00Z"), message: "starting the run scheduled for 2025-01-01T12:05:00Z"
                ))
    }

    @Test func runsNothingBeforeTheFirstFireAfterTheCronJobWasSeen() throws {
        // given
        let spec = try cron("*/5 * * * *")
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: nil, firstSeen: try utc("2025-01-01T12:01:30Z"), activeJobs: 0,
            now: try utc("2025-01-01T12:04:59Z")
        )
        // then
        #expect(
            decision
                == CronDecision(
                    next: try utc("2025-01-01T12:05:00Z"), message: "no run due; next at 2025-01-01T12:05:00Z"
                ))
    }

    @Test func firstRunIsTheFirstFireAfterTheCronJobWasSeen() throws {
        // given
        let spec = try cron("* * * * *")
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: nil, firstSeen: try utc("2025-01-01T11:59:30Z"), activeJobs: 0,
            now: try utc("2025-01-01T12:00:01Z")
        )
        // then
        #expect(decision.run == (try utc("2025-01-01T12:00:00Z")))
        #expect(decision.missed == 0)
    }

    @Test func reportsTheNextFireAfterLastScheduledWhenTheClockIsBehind() throws {
        // given: another controller's clock ran ahead and scheduled 12:05 already
        let spec = try cron("*/5 * * * *")
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2025-01-01T12:05:00Z"), firstSeen: try utc("2025-01-01T08:00:00Z"),
            activeJobs: 0, now: try utc("2025-01-01T12:04:58Z")
        )
        // then
        #expect(decision.run == nil)
        #expect(decision.next == (try utc("2025-01-01T12:10:00Z")))
    }

    // MARK: Missed runs

    @Test func afterAnOutageRunsOnlyTheLatestAndCountsTheRestAsMissed() throws {
        // given: every minute, the controller was down for three hours
        let spec = try cron("* * * * *")
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2025-01-01T00:00:00Z"), firstSeen: try utc("2024-12-01T00:00:00Z"),
            activeJobs: 0, now: try utc("2025-01-01T03:00:30Z")
        )
        // then
        #expect(
            decision
                == CronDecision(
                    run: try utc("2025-01-01T03:00:00Z"), missed: 179, lastScheduled: try utc("2025-01-01T03:00:00Z"),
                    next: try utc("2025-01-01T03:01:00Z"),
                    message: "missed 179 runs since 2025-01-01T00:01:00Z; starting only the latest run scheduled for "
                        + "2025-01-01T03:00:00Z"
                ))
    }

    @Test func capsTheMissedCountAfterAVeryLongOutage() throws {
        // given: every minute, down for a year
        let spec = try cron("* * * * *")
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2024-01-01T00:00:00Z"), firstSeen: try utc("2023-01-01T00:00:00Z"),
            activeJobs: 0, now: try utc("2025-01-01T00:00:30Z")
        )
        // then
        #expect(decision.run == (try utc("2025-01-01T00:00:00Z")))
        #expect(decision.missed == CronPlanner.missedCountLimit)
        #expect(decision.missedAtLeast)
        #expect(decision.message.hasPrefix("missed at least 1000 runs since 2024-01-01T00:01:00Z;"))
    }

    @Test(arguments: [
        // interval, outage end, missed, at least
        ("@every 10m", "2025-01-02T00:05:00Z", 143, false),
        ("@every 1s", "2025-01-02T00:00:00Z", 1000, true),
        ("@every 1m", "2025-01-01T16:41:00Z", 1000, false),
        ("@every 1m", "2025-01-01T16:42:00Z", 1000, true),
    ])
    func countsMissedIntervalsExactlyUpToTheLimit(schedule: String, now: String, missed: Int, atLeast: Bool) throws {
        // given
        let spec = try cron(schedule)
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2025-01-01T00:00:00Z"), firstSeen: try utc("2024-12-01T00:00:00Z"),
            activeJobs: 0, now: try utc(now)
        )
        // then
        #expect(decision.missed == missed)
        #expect(decision.missedAtLeast == atLeast)
        #expect(decision.run != nil)
    }

    @Test func runsNothingWhenTheLatestFireIsPastTheStartingDeadline() throws {
        // given: hourly, may start at most 5 minutes late
        let spec = try cron("0 * * * *", startingDeadline: .minutes(5))
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2025-01-01T09:00:00Z"), firstSeen: try utc("2025-01-01T08:00:00Z"),
            activeJobs: 0, now: try utc("2025-01-01T12:10:00Z")
        )
        // then
        #expect(
            decision
                == CronDecision(
                    missed: 3, lastScheduled: try utc("2025-01-01T12:00:00Z"), next: try utc("2025-01-01T13:00:00Z"),
                    message: "missed 2 runs since 2025-01-01T10:00:00Z; not starting the run scheduled for "
                        + "2025-01-01T12:00:00Z: it is 10m late, more than startingDeadline 5m"
                ))
    }

    @Test(arguments: ["2025-01-01T12:04:00Z", "2025-01-01T12:05:00Z"])
    func runsTheLatestFireWithinTheStartingDeadline(now: String) throws {
        // given
        let spec = try cron("0 * * * *", startingDeadline: .minutes(5))
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2025-01-01T09:00:00Z"), firstSeen: try utc("2025-01-01T08:00:00Z"),
            activeJobs: 0, now: try utc(now)
        )
        // then
        #expect(decision.run == (try utc("2025-01-01T12:00:00Z")))
        #expect(decision.missed == 2)
    }

    // MARK: Concurrency policy

    @Test func forbidSkipsTheDueRunWhileAJobIsActive() throws {
        // given
        let spec = try cron("*/5 * * * *", policy: .forbid)
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2025-01-01T12:00:00Z"), firstSeen: try utc("2025-01-01T08:00:00Z"),
            activeJobs: 1, now: try utc("2025-01-01T12:05:01Z")
        )
        // then
        #expect(
            decision
                == CronDecision(
                    skippedBecauseActive: true, lastScheduled: try utc("2025-01-01T12:05:00Z"),
                    next: try utc("2025-01-01T12:10:00Z"),
                    message: "skipped the run scheduled for 2025-01-01T12:05:00Z: 1 job is still active "
                        + "(concurrencyPolicy Forbid); next at 2025-01-01T12:10:00Z"
                ))
    }

    @Test func forbidDoesNotRetryASkippedRunOnceTheActiveJobEnds() throws {
        // given: the 12:05 run was skipped and is remembered as scheduled
        let spec = try cron("*/5 * * * *", policy: .forbid)
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2025-01-01T12:05:00Z"), firstSeen: try utc("2025-01-01T08:00:00Z"),
            activeJobs: 0, now: try utc("2025-01-01T12:07:00Z")
        )
        // then
        #expect(decision.run == nil)
        #expect(decision.skippedBecauseActive == false)
        #expect(decision.next == (try utc("2025-01-01T12:10:00Z")))
    }

    @Test(arguments: [CronJobSpec.ConcurrencyPolicy.allow, .forbid, .replace])
    func runsWhenNoJobIsActive(policy: CronJobSpec.ConcurrencyPolicy) throws {
        // given
        let spec = try cron("*/5 * * * *", policy: policy)
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2025-01-01T12:00:00Z"), firstSeen: try utc("2025-01-01T08:00:00Z"),
            activeJobs: 0, now: try utc("2025-01-01T12:05:00Z")
        )
        // then
        #expect(decision.run == (try utc("2025-01-01T12:05:00Z")))
        #expect(!decision.replaceActive)
        #expect(!decision.skippedBecauseActive)
    }

    @Test func replaceCancelsTheActiveJobsAndRuns() throws {
        // given
        let spec = try cron("*/5 * * * *", policy: .replace)
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2025-01-01T12:00:00Z"), firstSeen: try utc("2025-01-01T08:00:00Z"),
            activeJobs: 2, now: try utc("2025-01-01T12:05:00Z")
        )
        // then
        #expect(
            decision
                == CronDecision(
                    run: try utc("2025-01-01T12:05:00Z"), replaceActive: true, lastScheduled: try utc("2025-01-01T12:05:00Z"),
                    next: try utc("2025-01-01T12:10:00Z"),
                    message: "cancelling the active jobs (concurrencyPolicy Replace) and starting the run scheduled for "
                        + "2025-01-01T12:05:00Z"
                ))
    }

    @Test func allowRunsAlongsideActiveJobs() throws {
        // given
        let spec = try cron("*/5 * * * *", policy: .allow)
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2025-01-01T12:00:00Z"), firstSeen: try utc("2025-01-01T08:00:00Z"),
            activeJobs: 3, now: try utc("2025-01-01T12:05:00Z")
        )
        // then
        #expect(decision.run == (try utc("2025-01-01T12:05:00Z")))
        #expect(!decision.replaceActive)
        #expect(!decision.skippedBecauseActive)
    }

    @Test(arguments: [
        // policy, runs started, runs skipped (minutes past 12:00)
        (CronJobSpec.ConcurrencyPolicy.forbid, [0, 3, 6, 9], [1, 2, 4, 5, 7, 8, 10]),
        (.allow, Array(0...10), []),
        (.replace, Array(0...10), []),
    ])
    func aSlowJobOnAnEveryMinuteScheduleOverTenMinutes(
        policy: CronJobSpec.ConcurrencyPolicy, startedMinutes: [Int], skippedMinutes: [Int]
    ) throws {
        // given: each job takes 2.5 minutes; the controller wakes every 10 seconds
        var controller = SimulatedController(
            spec: try cron("* * * * *", policy: policy), now: try utc("2025-01-01T11:59:30Z"), jobDuration: 150
        )
        // when
        controller.run(until: try utc("2025-01-01T12:10:30Z"), step: 10)
        // then
        let noon = try utc("2025-01-01T12:00:00Z")
        #expect(controller.started == startedMinutes.map { noon.addingTimeInterval(Double($0) * 60) })
        #expect(controller.skipped == skippedMinutes.map { noon.addingTimeInterval(Double($0) * 60) })
    }

    // MARK: Suspend

    @Test func aSuspendedCronJobRunsNothingAndMissesNothing() throws {
        // given
        let spec = try cron("* * * * *", startingDeadline: .minutes(1), suspend: true)
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2025-01-01T00:00:00Z"), firstSeen: try utc("2024-12-01T00:00:00Z"),
            activeJobs: 0, now: try utc("2025-01-01T03:00:30Z")
        )
        // then
        #expect(
            decision
                == CronDecision(
                    next: try utc("2025-01-01T03:01:00Z"), message: "suspended; next at 2025-01-01T03:01:00Z once resumed"
                ))
    }

    @Test func resumingRunsTheLatestRunStillWithinTheStartingDeadline() throws {
        // given: suspended since 00:00, resumed at 03:00:30
        let spec = try cron("* * * * *", startingDeadline: .minutes(1))
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2025-01-01T00:00:00Z"), firstSeen: try utc("2024-12-01T00:00:00Z"),
            activeJobs: 0, now: try utc("2025-01-01T03:00:30Z")
        )
        // then
        #expect(decision.run == (try utc("2025-01-01T03:00:00Z")))
        #expect(decision.missed == 179)
    }

    // MARK: Intervals and time zones

    @Test func intervalsCountFromTheWholeSecondTheCronJobWasFirstSeen() throws {
        // given
        let spec = try cron("@every 10m")
        let firstSeen = try utc("2025-01-01T12:00:00Z").addingTimeInterval(0.7)
        // when
        let first = CronPlanner.decide(
            spec, lastScheduled: nil, firstSeen: firstSeen, activeJobs: 0, now: try utc("2025-01-01T12:10:00Z")
        )
        let later = CronPlanner.decide(
            spec, lastScheduled: first.lastScheduled, firstSeen: firstSeen, activeJobs: 0,
            now: try utc("2025-01-01T12:35:00Z")
        )
        // then
        #expect(first.run == (try utc("2025-01-01T12:10:00Z")))
        #expect(later.run == (try utc("2025-01-01T12:30:00Z")))
        #expect(later.missed == 1)
        #expect(later.next == (try utc("2025-01-01T12:40:00Z")))
    }

    @Test func firesOnTheCronJobsWallClockAndSaysSoInItsMessage() throws {
        // given: 02:30 in Zurich does not exist on 2025-03-30; the run moves to 03:00 CEST
        let spec = try cron("30 2 * * *", timeZone: "Europe/Zurich")
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2025-03-29T01:30:00Z"), firstSeen: try utc("2025-03-01T00:00:00Z"),
            activeJobs: 0, now: try utc("2025-03-30T01:00:30Z")
        )
        // then
        #expect(decision.run == (try utc("2025-03-30T01:00:00Z")))
        #expect(decision.next == (try utc("2025-03-31T00:30:00Z")))
        #expect(decision.message == "starting the run scheduled for 2025-03-30T03:00:00+02:00")
    }

    @Test func anOutageOverTheRepeatedHourCountsEachRepeatedFire() throws {
        // given: every 30 minutes in New York; down from 00:30 EDT to 01:45 EST on the fall-back day
        let spec = try cron("*/30 * * * *", timeZone: "America/New_York")
        // when
        let decision = CronPlanner.decide(
            spec, lastScheduled: try utc("2025-11-02T04:30:00Z"), firstSeen: try utc("2025-11-01T00:00:00Z"),
            activeJobs: 0, now: try utc("2025-11-02T06:45:00Z")
        )
        // then: 01:00 EDT, 01:30 EDT, 01:00 EST missed; 01:30 EST runs
        #expect(decision.run == (try utc("2025-11-02T06:30:00Z")))
        #expect(decision.missed == 3)
        #expect(
            decision.message == "missed 3 runs since 2025-11-02T01:00:00-04:00; starting only the latest run "
                + "scheduled for 2025-11-02T01:30:00-05:00")
    }

    // MARK: Idempotency keys

    @Test func writesTheScheduledTimeIntoTheIdempotencyKey() throws {
        // when
        let key = CronPlanner.idempotencyKey(cron: "backup", scheduled: try utc("2025-03-30T12:00:00Z"))
        // then
        #expect(key == "cron:backup:2025-03-30T12:00:00Z")
    }

    @Test(arguments: [
        ("2025-03-30T12:00:00Z", 0.0),
        ("2025-03-30T12:00:00Z", 0.25),
        ("1999-12-31T23:59:59Z", 0.001),
        ("2096-02-29T00:00:00Z", 0.999),
    ])
    func readsTheScheduledTimeBackFromTheKey(time: String, fraction: Double) throws {
        // given
        let scheduled = Date(timeIntervalSince1970: (try utc(time)).timeIntervalSince1970 + fraction)
        // when
        let key = CronPlanner.idempotencyKey(cron: "tidy-up", scheduled: scheduled)
        // then
        #expect(CronPlanner.scheduledTime(fromIdempotencyKey: key) == scheduled)
    }

    @Test func readsBackTheRunsItDecides() throws {
        // given: an interval with milliseconds
        let spec = try cron("@every 1500ms")
        let decision = CronPlanner.decide(
            spec, lastScheduled: nil, firstSeen: try utc("2025-01-01T12:00:00Z"), activeJobs: 0,
            now: try utc("2025-01-01T12:00:04Z")
        )
        let run = try #require(decision.run)
        // when
        let key = CronPlanner.idempotencyKey(cron: "tick", scheduled: run)
        // then
        #expect(key == "cron:tick:2025-01-01T12:00:03Z")
        #expect(CronPlanner.scheduledTime(fromIdempotencyKey: key) == run)
        let odd = CronPlanner.idempotencyKey(cron: "tick", scheduled: run.addingTimeInterval(1.5))
        #expect(odd == "cron:tick:2025-01-01T12:00:04.500Z")
    }

    @Test(arguments: [
        "backup-2025", "cron:", "cron:backup", "cron::2025-03-30T12:00:00Z", "job:backup:2025-03-30T12:00:00Z",
        "cron:backup:2025-13-01T00:00:00Z", "cron:backup:2025-03-30T12:00:00.000Z", "cron:backup:2025-03-30T12:00:00+01:00",
        "cron:backup:2025-03-30 12:00:00Z", "cron:backup:2025-03-30T12:00Z", "cron:backup:2025-03-30T12:00:00.5Z",
    ])
    func refusesKeysItDidNotWrite(key: String) {
        #expect(CronPlanner.scheduledTime(fromIdempotencyKey: key) == nil)
    }
}
