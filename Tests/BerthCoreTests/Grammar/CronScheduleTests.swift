import BerthCore
import Foundation
import Testing

private func utc(_ text: String) throws -> Date {
    try Date(text, strategy: .iso8601)
}

@Suite struct CronScheduleTests {
    /// Expression, the instant to search after, and the expected next fire (all UTC).
    @Test(arguments: [
        ("*/15 * * * *", "2025-01-01T10:07:00Z", "2025-01-01T10:15:00Z"),
        ("*/15 * * * *", "2025-01-01T10:15:00Z", "2025-01-01T10:30:00Z"),
        ("* * * * *", "2025-01-01T10:15:30Z", "2025-01-01T10:16:00Z"),
        ("30 2 * * *", "2025-01-01T03:00:00Z", "2025-01-02T02:30:00Z"),
        ("0 0 1 * *", "2025-01-31T12:00:00Z", "2025-02-01T00:00:00Z"),
        ("0 0 1 1 *", "2025-06-15T00:00:00Z", "2026-01-01T00:00:00Z"),
        ("59 23 31 12 *", "2025-12-31T23:59:00Z", "2026-12-31T23:59:00Z"),
        ("0 12 31 * *", "2025-04-01T00:00:00Z", "2025-05-31T12:00:00Z"),
        ("0 0 29 2 *", "2025-03-01T00:00:00Z", "2028-02-29T00:00:00Z"),
        ("0 0 29 2 *", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"),
        ("10-50/20 * * * *", "2025-01-01T10:30:00Z", "2025-01-01T10:50:00Z"),
        ("10-50/20 * * * *", "2025-01-01T10:50:00Z", "2025-01-01T11:10:00Z"),
        ("0 6,18 * * *", "2025-01-01T06:00:00Z", "2025-01-01T18:00:00Z"),
        ("0 0 1 jan,JUL *", "2025-02-01T00:00:00Z", "2025-07-01T00:00:00Z"),
        ("0 8 * * mon-fri", "2025-06-06T09:00:00Z", "2025-06-09T08:00:00Z"),
        ("0 0 * * 7", "2025-06-02T00:00:00Z", "2025-06-08T00:00:00Z"),
        ("0 0 * * 5-7", "2025-06-02T00:00:00Z", "2025-06-06T00:00:00Z"),
        // Both day fields restricted: the 13th or any Friday.
        ("0 9 13 * fri", "2025-06-01T00:00:00Z", "2025-06-06T09:00:00Z"),
        ("0 9 13 * fri", "2025-06-06T09:00:00Z", "2025-06-13T09:00:00Z"),
        ("0 9 13 * fri", "2025-06-13T09:00:00Z", "2025-06-20T09:00:00Z"),
        // Day-of-week starred: only the 13th.
        ("0 9 13 * *", "2025-06-01T00:00:00Z", "2025-06-13T09:00:00Z"),
        // A day field starting with `*` counts as unrestricted (Vixie cron), so both must match.
        ("0 9 */10 * mon", "2025-06-01T00:00:00Z", "2025-07-21T09:00:00Z"),
        ("0 0 29 2 */7", "2025-01-01T00:00:00Z", "2032-02-29T00:00:00Z"),
        ("@hourly", "2025-01-01T10:00:00Z", "2025-01-01T11:00:00Z"),
        ("@daily", "2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z"),
        ("@weekly", "2025-06-01T00:00:00Z", "2025-06-08T00:00:00Z"),
        ("@monthly", "2025-01-15T00:00:00Z", "2025-02-01T00:00:00Z"),
        ("@annually", "2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        ("@every 90m", "2025-01-01T10:07:30Z", "2025-01-01T11:37:30Z"),
    ])
    func firesAtTheNextMatchingMinute(expression: String, after: String, expected: String) throws {
        let schedule = try CronSchedule(parsing: expression)
        #expect(schedule.nextFire(after: try utc(after)) == (try utc(expected)))
    }

    @Test(arguments: ["0 0 30 2 *", "0 0 31 4 *", "0 0 31 feb,apr,jun,sep,nov *"])
    func neverFiresOnImpossibleDates(expression: String) throws {
        let schedule = try CronSchedule(parsing: expression)
        #expect(schedule.nextFire(after: try utc("2025-01-01T00:00:00Z")) == nil)
    }

    @Test func storesTheAllowedValuesOfEachField() throws {
        // when
        let schedule = try CronSchedule(parsing: "*/15 9-17 1,15 jan-mar 5-7")
        // then
        guard case .calendar(let fields) = schedule.kind else {
            Issue.record("expected a calendar schedule, got \(schedule.kind)")
            return
        }
        #expect(fields.minutes == [0, 15, 30, 45])
        #expect(fields.hours == Set(9...17))
        #expect(fields.daysOfMonth == [1, 15])
        #expect(fields.months == [1, 2, 3])
        #expect(fields.daysOfWeek == [5, 6, 0])
        #expect(fields.matchesEitherDay)
    }

    @Test func expandsMacrosToTheirFields() throws {
        #expect(try CronSchedule(parsing: "@daily").kind == CronSchedule(parsing: "0 0 * * *").kind)
        #expect(try CronSchedule(parsing: "@midnight").kind == CronSchedule(parsing: "0 0 * * *").kind)
        #expect(try CronSchedule(parsing: "@yearly").kind == CronSchedule(parsing: "0 0 1 1 *").kind)
        #expect(try CronSchedule(parsing: "@every 1.5h").kind == .every(.minutes(90)))
    }

    @Test(arguments: [
        ("  */5   *\t* * *  ", "*/5 * * * *"),
        ("0 8 * * MON-FRI", "0 8 * * MON-FRI"),
        ("@Daily", "@daily"),
        (" @EVERY  90m ", "@every 1h30m"),
    ])
    func printsTheNormalizedExpression(text: String, canonical: String) throws {
        let schedule = try CronSchedule(parsing: text)
        #expect(schedule.description == canonical)
        #expect(try CronSchedule(parsing: schedule.description) == schedule)
    }

    @Test(arguments: [
        ("0 0 * * 8", "day-of-week field: 8 is out of range 0-7"),
        ("60 * * * *", "minute field: 60 is out of range 0-59"),
        ("0 24 * * *", "hour field: 24 is out of range 0-23"),
        ("0 0 0 * *", "day-of-month field: 0 is out of range 1-31"),
        ("0 0 * 13 *", "month field: 13 is out of range 1-12"),
        ("0 0 * foo *", "month field: expected a number 1-12 or a name jan-dec, found \"foo\""),
        ("0 0 * * monday", "day-of-week field: expected a number 0-7 or a name sun-sat, found \"monday\""),
        ("0 0 * jan *x", "day-of-week field: expected a number 0-7 or a name sun-sat, found \"*x\""),
        ("-5 * * * *", "minute field: expected a number 0-59, found \"-5\""),
        ("1,,2 * * * *", "minute field: expected a number 0-59, found \"\""),
        ("5-1 * * * *", "minute field: range 5-1 goes backwards; write the smaller value first"),
        ("*/0 * * * *", "minute field: step \"0\" must be a positive whole number"),
        ("*/x * * * *", "minute field: step \"x\" must be a positive whole number"),
        ("5/15 * * * *", "minute field: a step needs a range or *, such as 5-59/15, found \"5/15\""),
        (
            "* * * *",
            "expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily, found 4 fields"
        ),
        ("* * * * * *", "found 6 fields in \"* * * * * *\""),
        ("", "found \"\""),
        (
            "@reboot",
            "unknown macro \"@reboot\"; use @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually or @every"
        ),
        ("@daily 0", "@daily takes no fields"),
        ("@every", "@every takes one duration, such as @every 10m"),
        ("@every 500ms", "@every needs an interval of at least 1s, found \"500ms\""),
        ("@every 10", "@every: expected a duration such as 500ms, 10s, 5m, 1h30m or 7d, found \"10\"; add a unit"),
    ])
    func rejectsMalformedSchedulesNamingTheField(text: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try CronSchedule(parsing: text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }
}
