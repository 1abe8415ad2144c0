import Foundation

/// What one CronJob should do at one instant, decided by ``CronPlanner/decide(_:lastScheduled:firstSeen:activeJobs:now:)``.
public struct CronDecision: Sendable, Hashable {
    /// The scheduled time of the job to submit now, or nil when nothing is submitted. The job's
    /// idempotency key is ``CronPlanner/idempotencyKey(cron:scheduled:)`` of this time.
    public var run: Date?
    /// Due fire times that will never run: every one older than the latest due one (only the latest
    /// may run), and the latest too when it is past `startingDeadline`. At most
    /// ``CronPlanner/missedCountLimit``; see ``missedAtLeast``.
    public var missed: Int
    /// True when more runs were missed than ``CronPlanner/missedCountLimit``: `missed` is then the limit
    /// and a lower bound, not an exact count.
    public var missedAtLeast: Bool
    /// Policy Replace with jobs still active: cancel them before submitting ``run``.
    public var replaceActive: Bool
    /// Policy Forbid with a job still active: nothing is submitted and the due run is skipped for
    /// good (it is accounted for in ``lastScheduled``, not retried when the active job ends).
    public var skippedBecauseActive: Bool
    /// The newest due fire time this decision accounts for, whether it runs, is skipped or is missed:
    /// what the controller remembers as `lastScheduled` from now on. Nil when nothing was due or the
    /// CronJob is suspended (suspended runs stay due, as in Kubernetes).
    public var lastScheduled: Date?
    /// The first fire time after both `now` and `lastScheduled`, for the controller's timer; nil when
    /// the schedule never fires again.
    public var next: Date?
    /// One sentence for events and logs, with times in the CronJob's time zone.
    public var message: String

    public init(
        run: Date? = nil,
        missed: Int = 0,
        missedAtLeast: Bool = false,
        replaceActive: Bool = false,
        skippedBecauseActive: Bool = false,
        lastScheduled: Date? = nil,
        next: Date?,
        message: String
    ) {
        self.run = run
        self.missed = missed
        self.missedAtLeast = missedAtLeast
        self.replaceActive = replaceActive
        self.skippedBecauseActive = skippedBecauseActive
        self.lastScheduled = lastScheduled
        self.next = next
        self.message = message
    }
}

/// Decides when a CronJob submits a job, from the schedule, the last scheduled time and the clock
/// the caller passes in. Pure: no clock reads, no I/O.
///
/// The fire times considered are those in `(lastScheduled ?? firstSeen, now]`. Only the latest of
/// them may run, and only when `startingDeadline` is unset or `now - latest ≤ startingDeadline`;
/// the others are missed. So a controller that was down for a day starts one job, not a thousand,
/// and says how many it missed.
public enum CronPlanner {
    /// Missed runs are counted up to this many; beyond it ``CronDecision/missedAtLeast`` is set.
    public static let missedCountLimit = 1000

    /// - Parameters:
    ///   - lastScheduled: the scheduled time of the newest run already accounted for (submitted,
    ///     skipped or missed), or nil for a CronJob that never ran.
    ///   - firstSeen: when the controller first saw the CronJob; the schedule starts after it when
    ///     nothing ran yet (whole seconds count, so `@every` runs fall on whole seconds).
    ///   - activeJobs: the CronJob's jobs that are pending, queued or started.
    public static func decide(
        _ spec: CronJobSpec, lastScheduled: Date?, firstSeen: Date, activeJobs: Int, now: Date
    ) -> CronDecision {
        let start = lastScheduled ?? Date(timeIntervalSince1970: firstSeen.timeIntervalSince1970.rounded(.down))
        let fires = FireTimes(schedule: spec.schedule, zone: spec.timeZone.timeZone, start: start)
        let clock = CronClock(zone: spec.timeZone.timeZone)
        let next = fires.first(after: max(now, start))
        let nextText = next.map { "next at \(clock.text($0))" } ?? "the schedule never fires again"

        guard !spec.suspend else {
            return CronDecision(next: next, message: "suspended; \(nextText) once resumed")
        }
        guard let latest = fires.latest(through: now) else {
            return CronDecision(next: next, message: "no run due; \(nextText)")
        }

        // `due` counts `latest` too, so one more than the limit tells an exact limit from "more".
        let (due, isExact) = fires.count(through: latest, upTo: missedCountLimit + 1)
        let earlier = missedCount(isExact ? due - 1 : missedCountLimit + 1)
        let missedText =
            earlier.count == 0
            ? ""
            : "missed \(earlier.atLeast ? "at least " : "")\(earlier.count) \(earlier.count == 1 ? "run" : "runs")"
                + (fires.first(after: start).map { " since \(clock.text($0))" } ?? "") + "; "
        let scheduled = clock.text(latest)

        if let deadline = spec.startingDeadline, now.timeIntervalSince(latest) > deadline.seconds {
            let all = missedCount(isExact ? due : missedCountLimit + 1)
            let late = TimeSpan.seconds(Int64(now.timeIntervalSince(latest).rounded(.down)))
            return CronDecision(
                missed: all.count, missedAtLeast: all.atLeast, lastScheduled: latest, next: next,
                message: "\(missedText)not starting the run scheduled for \(scheduled): it is \(late) late, "
                    + "more than startingDeadline \(deadline)"
            )
        }

        let jobs = activeJobs == 1 ? "1 job is" : "\(activeJobs) jobs are"
        switch spec.concurrencyPolicy {
        case .forbid where activeJobs > 0:
            return CronDecision(
                missed: earlier.count, missedAtLeast: earlier.atLeast, skippedBecauseActive: true,
                lastScheduled: latest, next: next,
                message: "\(missedText)skipped the run scheduled for \(scheduled): \(jobs) still active "
                    + "(concurrencyPolicy Forbid); \(nextText)"
            )
        case .replace where activeJobs > 0:
            return CronDecision(
                run: latest, missed: earlier.count, missedAtLeast: earlier.atLeast, replaceActive: true,
                lastScheduled: latest, next: next,
                message: "\(missedText)cancelling the active \(activeJobs == 1 ? "job" : "jobs") "
                    + "(concurrencyPolicy Replace) and starting the run scheduled for \(scheduled)"
            )
        case .allow, .forbid, .replace:
            let what = earlier.count == 0 ? "starting the run" : "starting only the latest run"
            return CronDecision(
                run: latest, missed: earlier.count, missedAtLeast: earlier.atLeast, lastScheduled: latest,
                next: next, message: "\(missedText)\(what) scheduled for \(scheduled)"
            )
        }
    }

    private static func missedCount(_ count: Int) -> (count: Int, atLeast: Bool) {
        count > missedCountLimit ? (missedCountLimit, true) : (count, false)
    }

    // MARK: Idempotency keys

    private static let keyPrefix = "cron:"

    /// `cron:<cron>:<scheduled time>`, the time in UTC ISO 8601 (`2025-03-30T12:00:00Z`, with
    /// milliseconds only when the time has them). Submitting a run twice with the same key yields
    /// one job, so a controller that crashed after submitting cannot start the run again.
    public static func idempotencyKey(cron: String, scheduled: Date) -> String {
        keyPrefix + cron + ":" + CronClock.utcText(scheduled)
    }

    /// The scheduled time written in a key made by ``idempotencyKey(cron:scheduled:)``; nil for any
    /// other key. A restarted controller reads `lastScheduled` from its newest job's key.
    public static func scheduledTime(fromIdempotencyKey key: String) -> Date? {
        guard key.hasPrefix(keyPrefix) else { return nil }
        // Resource names have no colons, so the first one after the prefix ends the name.
        let rest = key.dropFirst(keyPrefix.count)
        guard let colon = rest.firstIndex(of: ":"), colon != rest.startIndex else { return nil }
        return CronClock.parseUTC(String(rest[rest.index(after: colon)...]))
    }
}

/// The fire times of one schedule after a start instant.
private struct FireTimes {
    let schedule: CronSchedule
    let zone: TimeZone
    /// Fire times are strictly after it; `@every` counts its intervals from it.
    let start: Date

    /// The first fire time strictly after `date` (and after `start`).
    func first(after date: Date) -> Date? {
        switch schedule.kind {
        case .calendar:
            return schedule.nextFire(after: max(date, start), timeZone: zone)
        case .every(let interval):
            var index = max(1, everyIndex(at: date, interval) + 1)
            while everyFire(index, interval) <= date { index += 1 }
            while index > 1, everyFire(index - 1, interval) > date { index -= 1 }
            return everyFire(index, interval)
        }
    }

    /// The newest fire time in `(start, now]`.
    func latest(through now: Date) -> Date? {
        switch schedule.kind {
        case .calendar:
            // Look back over growing windows, so a long outage does not walk every missed minute.
            let windows: [TimeInterval] = [3_600, 86_400, 32 * 86_400, 367 * 86_400]
            for window in windows {
                let from = max(start, now.addingTimeInterval(-window))
                if let latest = lastCalendarFire(after: from, through: now) { return latest }
                if from == start { return nil }
            }
            return lastCalendarFire(after: start, through: now)
        case .every(let interval):
            var index = everyIndex(at: now, interval)
            while everyFire(index + 1, interval) <= now { index += 1 }
            while index >= 1, everyFire(index, interval) > now { index -= 1 }
            return index >= 1 ? everyFire(index, interval) : nil
        }
    }

    /// How many fire times lie in `(start, end]`, counting up to `limit`; exact when the count
    /// reached `end` within the limit.
    func count(through end: Date, upTo limit: Int) -> (count: Int, isExact: Bool) {
        switch schedule.kind {
        case .calendar:
            var count = 0
            var last = start
            while count < limit, let fire = schedule.nextFire(after: last, timeZone: zone), fire <= end {
                count += 1
                last = fire
            }
            return (count, count < limit || last == end)
        case .every(let interval):
            var index = everyIndex(at: end, interval)
            while everyFire(index + 1, interval) <= end { index += 1 }
            while index >= 1, everyFire(index, interval) > end { index -= 1 }
            let count = max(0, index)
            return count <= limit ? (count, true) : (limit, false)
        }
    }

    private func lastCalendarFire(after from: Date, through now: Date) -> Date? {
        var latest: Date?
        while let fire = schedule.nextFire(after: latest ?? from, timeZone: zone), fire <= now { latest = fire }
        return latest
    }

    // `@every` fire `n` is `start + n × interval`, computed in whole milliseconds so that a fire time
    // written into an idempotency key and read back is the same `Date`.

    private var startMilliseconds: Int64 { CronClock.milliseconds(start) }

    private func everyFire(_ index: Int, _ interval: TimeSpan) -> Date {
        CronClock.date(milliseconds: startMilliseconds + Int64(index) * interval.milliseconds)
    }

    /// About how many intervals fit between `start` and `date` (callers correct it by one step).
    private func everyIndex(at date: Date, _ interval: TimeSpan) -> Int {
        let elapsed = CronClock.milliseconds(date) - startMilliseconds
        return elapsed < 0 ? 0 : Int(elapsed / interval.milliseconds)
    }
}

/// Writes and reads instants for cron messages and keys, independent of the host's locale and zone.
private struct CronClock {
    let zone: TimeZone

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        return calendar
    }()

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// ISO 8601 on the zone's wall clock with its offset: `2025-03-30T03:00:00+02:00`, `…Z` in UTC.
    func text(_ date: Date) -> String {
        let offset = zone.secondsFromGMT(for: date)
        return Self.text(date, offsetSeconds: offset)
    }

    /// `2025-03-30T12:00:00Z`, or `2025-03-30T12:00:00.250Z` when the time has milliseconds.
    static func utcText(_ date: Date) -> String {
        text(date, offsetSeconds: 0)
    }

    private static func text(_ date: Date, offsetSeconds: Int) -> String {
        let total = milliseconds(date) + Int64(offsetSeconds) * 1000
        let (seconds, millis) = (total.floorDivided(by: 1000), total.floorModulo(1000))
        let wall = utc.dateComponents(
            [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: Double(seconds)))
        func pad(_ value: Int?, _ width: Int = 2) -> String {
            let digits = String(value ?? 0)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        var text = "\(pad(wall.year, 4))-\(pad(wall.month))-\(pad(wall.day))T\(pad(wall.hour)):\(pad(wall.minute)):\(pad(wall.second))"
        if millis != 0 { text += "." + pad(Int(millis), 3) }
        guard offsetSeconds != 0 else { return text + "Z" }
        let sign = offsetSeconds < 0 ? "-" : "+"
        let minutes = abs(offsetSeconds) / 60
        return text + "\(sign)\(pad(minutes / 60)):\(pad(minutes % 60))"
    }

    /// Reads exactly what ``utcText(_:)`` writes; nil for anything else.
    static func parseUTC(_ text: String) -> Date? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard text.hasSuffix("Z"), parts.count <= 2 else { return nil }
        let whole = parts.count == 2 ? String(parts[0]) + "Z" : String(parts[0])
        var milliseconds: Int64 = 0
        if parts.count == 2 {
            let fraction = parts[1].dropLast()
            guard fraction.count == 3, fraction.allSatisfy(\.isASCIIDigit), let value = Int64(fraction) else { return nil }
            milliseconds = value
        }
        guard String(whole.map { $0.isASCIIDigit ? "0" : $0 }) == "0000-00-00T00:00:00Z" else { return nil }
        let digits = Array(whole.filter(\.isASCIIDigit))
        let numbers = [0...3, 4...5, 6...7, 8...9, 10...11, 12...13].map { Int(String(digits[$0])) ?? -1 }
        let components = DateComponents(
            year: numbers[0], month: numbers[1], day: numbers[2], hour: numbers[3], minute: numbers[4], second: numbers[5])
        guard let seconds = utc.date(from: components) else { return nil }
        let date = Self.date(milliseconds: Int64(seconds.timeIntervalSince1970) * 1000 + milliseconds)
        // Out-of-range fields (month 13, 24:00) would roll over; only the canonical text is accepted.
        return utcText(date) == text ? date : nil
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor < 0) ? quotient - 1 : quotient
    }

    fileprivate func floorModulo(_ divisor: Int64) -> Int64 {
        let remainder = self % divisor
        return remainder < 0 ? remainder + divisor : remainder
    }
}
