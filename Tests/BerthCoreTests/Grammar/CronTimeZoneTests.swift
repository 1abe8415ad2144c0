import BerthCore
import Foundation
import Testing

private func utc(_ text: String) throws -> Date {
    try Date(text, strategy: .iso8601)
}

private func zone(_ name: String) throws -> TimeZone {
    try TimeZoneName(parsing: name).timeZone
}

/// Europe/Zurich: 2025-03-30 02:00 CET → 03:00 CEST at 01:00Z; 2025-10-26 03:00 CEST → 02:00 CET at 01:00Z.
/// America/New_York: 2025-03-09 02:00 EST → 03:00 EDT at 07:00Z; 2025-11-02 02:00 EDT → 01:00 EST at 06:00Z.
@Suite("Cron schedules in a time zone")
struct CronTimeZoneTests {
    /// Expression, zone, the instant to search after and the expected next fire (both UTC).
    @Test(arguments: [
        // An ordinary summer day: 09:00 CEST is 07:00Z.
        ("0 9 * * mon-fri", "Europe/Zurich", "2025-06-06T08:00:00Z", "2025-06-09T07:00:00Z"),
        ("0 0 * * *", "Europe/Zurich", "2025-03-29T12:00:00Z", "2025-03-29T23:00:00Z"),
        ("0 0 * * *", "Europe/Zurich", "2025-03-29T23:00:00Z", "2025-03-30T22:00:00Z"),
        // Spring forward, a fixed time in the gap: 02:30 does not exist and fires as the gap ends, 03:00 CEST.
        ("30 2 * * *", "Europe/Zurich", "2025-03-29T12:00:00Z", "2025-03-30T01:00:00Z"),
        ("30 2 * * *", "Europe/Zurich", "2025-03-30T00:59:00Z", "2025-03-30T01:00:00Z"),
        ("30 2 * * *", "Europe/Zurich", "2025-03-30T01:00:00Z", "2025-03-31T00:30:00Z"),
        // Two matching times (02:00 skipped, 03:00 real) fire once.
        ("0 2,3 * * *", "Europe/Zurich", "2025-03-29T12:00:00Z", "2025-03-30T01:00:00Z"),
        ("0 2,3 * * *", "Europe/Zurich", "2025-03-30T01:00:00Z", "2025-03-31T00:00:00Z"),
        // Every-hour schedules follow the clock: 02:30 is simply not there.
        ("30 * * * *", "Europe/Zurich", "2025-03-30T00:30:00Z", "2025-03-30T01:30:00Z"),
        ("*/15 * * * *", "Europe/Zurich", "2025-03-30T00:45:00Z", "2025-03-30T01:00:00Z"),
        // Fall back, a fixed time in the repeated hour fires in the first pass only.
        ("30 2 * * *", "Europe/Zurich", "2025-10-25T12:00:00Z", "2025-10-26T00:30:00Z"),
        ("30 2 * * *", "Europe/Zurich", "2025-10-26T00:30:00Z", "2025-10-27T01:30:00Z"),
        ("30 2 * * *", "Europe/Zurich", "2025-10-26T01:10:00Z", "2025-10-27T01:30:00Z"),
        ("*/10 2 * * *", "Europe/Zurich", "2025-10-26T00:50:00Z", "2025-10-27T01:00:00Z"),
        // Every-hour schedules fire in both passes: elapsed time goes on.
        ("30 * * * *", "Europe/Zurich", "2025-10-26T00:30:00Z", "2025-10-26T01:30:00Z"),
        ("30 * * * *", "Europe/Zurich", "2025-10-26T01:30:00Z", "2025-10-26T02:30:00Z"),
        // New York, spring forward.
        ("30 2 * * *", "America/New_York", "2025-03-08T12:00:00Z", "2025-03-09T07:00:00Z"),
        ("0 0 * * *", "America/New_York", "2025-03-09T05:00:00Z", "2025-03-10T04:00:00Z"),
        ("*/30 * * * *", "America/New_York", "2025-03-09T06:30:00Z", "2025-03-09T07:00:00Z"),
        // New York, fall back: 01:30 happens twice and fires once (EDT).
        ("30 1 * * *", "America/New_York", "2025-11-01T12:00:00Z", "2025-11-02T05:30:00Z"),
        ("30 1 * * *", "America/New_York", "2025-11-02T05:30:00Z", "2025-11-03T06:30:00Z"),
        ("*/30 * * * *", "America/New_York", "2025-11-02T05:30:00Z", "2025-11-02T06:00:00Z"),
        // Intervals are elapsed time in every zone.
        ("@every 1h", "Europe/Zurich", "2025-03-30T00:30:00Z", "2025-03-30T01:30:00Z"),
        ("@every 1h", "America/New_York", "2025-11-02T05:30:00Z", "2025-11-02T06:30:00Z"),
        ("0 0 29 2 *", "Europe/Zurich", "2025-01-01T00:00:00Z", "2028-02-28T23:00:00Z"),
    ])
    func firesOnTheWallClockOfTheZone(expression: String, zoneName: String, after: String, expected: String) throws {
        // given
        let schedule = try CronSchedule(parsing: expression)
        // when
        let fire = schedule.nextFire(after: try utc(after), timeZone: try zone(zoneName))
        // then
        #expect(fire == (try utc(expected)))
    }

    /// An hourly schedule fires 23 times on the spring-forward day and 25 times on the fall-back day.
    @Test(arguments: [
        ("Europe/Zurich", "2025-03-29T23:00:00Z", "2025-03-30T22:00:00Z", 23),
        ("Europe/Zurich", "2025-10-25T22:00:00Z", "2025-10-26T23:00:00Z", 25),
        ("America/New_York", "2025-03-09T05:00:00Z", "2025-03-10T04:00:00Z", 23),
        ("America/New_York", "2025-11-02T04:00:00Z", "2025-11-03T05:00:00Z", 25),
    ])
    func hourlyFiresEveryRealHourAcrossDaylightSavingChanges(
        zoneName: String, localMidnight: String, nextMidnight: String, hours: Int
    ) throws {
        // given
        let schedule = try CronSchedule(parsing: "@hourly")
        let end = try utc(nextMidnight)
        var fires: [Date] = []
        var last = try utc(localMidnight)
        // when
        while let fire = schedule.nextFire(after: last, timeZone: try zone(zoneName)), fire <= end {
            fires.append(fire)
            last = fire
        }
        // then
        #expect(fires.count == hours)
        #expect(zip(fires, fires.dropFirst()).allSatisfy { $1.timeIntervalSince($0) == 3600 })
    }

    @Test func aDailyScheduleFiresOnceOnEachDaylightSavingDay() throws {
        // given
        let schedule = try CronSchedule(parsing: "15 2 * * *")
        let zurich = try zone("Europe/Zurich")
        var fires: [Date] = []
        var last = try utc("2025-03-28T00:00:00Z")
        // when
        while let fire = schedule.nextFire(after: last, timeZone: zurich), fire < (try utc("2025-04-01T00:00:00Z")) {
            fires.append(fire)
            last = fire
        }
        // then: 02:15 CET, 02:15 CET, the gap's end 03:00 CEST, then 02:15 CEST
        #expect(
            try fires == [
                utc("2025-03-28T01:15:00Z"), utc("2025-03-29T01:15:00Z"), utc("2025-03-30T01:00:00Z"),
                utc("2025-03-31T00:15:00Z"),
            ])
    }

    @Test func utcIsTheDefaultZone() throws {
        // given
        let schedule = try CronSchedule(parsing: "30 2 * * *")
        let after = try utc("2025-03-30T00:00:00Z")
        // then
        #expect(schedule.nextFire(after: after) == schedule.nextFire(after: after, timeZone: TimeZoneName.utc.timeZone))
        #expect(schedule.nextFire(after: after) == (try utc("2025-03-30T02:30:00Z")))
    }

    // MARK: Time zone names

    @Test(arguments: ["Europe/Zurich", "America/New_York", "UTC", "GMT", "Etc/UTC", "Asia/Kolkata", "Europe/Kyiv"])
    func acceptsIANANames(_ name: String) throws {
        // when
        let zone = try TimeZoneName(parsing: name)
        // then
        #expect(zone.description == name)
        #expect(zone == (try TimeZoneName(parsing: name)))
    }

    @Test(arguments: [
        ("Mars/Olympus", #"expected an IANA time zone such as Europe/Zurich or UTC, found "Mars/Olympus"; it is not in the time zone database"#),
        ("Europe/Zurch", #"found "Europe/Zurch" (did you mean "Europe/Zurich"?)"#),
        ("CET", #"found "CET"; write the zone as Area/Location (America/New_York), not as an abbreviation or offset"#),
        ("GMT+2", "not as an abbreviation or offset"),
        ("utc", "not as an abbreviation or offset"),
        ("", #"expected an IANA time zone such as Europe/Zurich or UTC, found """#),
    ])
    func refusesWhatIsNotAnIANAName(text: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try TimeZoneName(parsing: text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test func encodesAsTheNameAsWritten() throws {
        // given
        let zone = try TimeZoneName(parsing: "Europe/Zurich")
        // when
        let json = try JSONEncoder().encode([zone])
        let decoded = try JSONDecoder().decode([TimeZoneName].self, from: json)
        // then
        #expect(String(decoding: json, as: UTF8.self) == #"["Europe\/Zurich"]"#)
        #expect(decoded == [zone])
    }
}
