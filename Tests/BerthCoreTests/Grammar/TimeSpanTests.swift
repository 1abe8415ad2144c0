import BerthCore
import Testing

@Suite struct TimeSpanTests {
    @Test(
        arguments: [
            ("500ms", 500), ("10s", 10_000), ("5m", 300_000), ("1h30m", 5_400_000), ("7d", 604_800_000),
            ("1d12h", 129_600_000), ("2m30s500ms", 150_500), ("1.5h", 5_400_000), ("0.5s", 500), ("0s", 0),
            ("90m", 5_400_000), ("36525d", 3_155_760_000_000),
        ] as [(String, Int64)])
    func parsesUnitsAndCombinations(text: String, milliseconds: Int64) throws {
        #expect(try TimeSpan(parsing: text).milliseconds == milliseconds)
    }

    @Test(
        arguments: [
            (5_400_000, "1h30m"), (500, "500ms"), (604_800_000, "7d"), (0, "0s"), (90_061_001, "1d1h1m1s1ms"),
            (150_500, "2m30s500ms"), (86_400_000, "1d"),
        ] as [(Int64, String)])
    func printsLargestUnitFirst(milliseconds: Int64, text: String) {
        #expect(TimeSpan(milliseconds: milliseconds).description == text)
    }

    @Test(arguments: ["90m", "1.5h", "2m30s500ms", "0s", "1d", "1500ms", "36525d"])
    func roundTripsThroughItsDescription(text: String) throws {
        let span = try TimeSpan(parsing: text)
        #expect(try TimeSpan(parsing: span.description) == span)
    }

    @Test(arguments: [
        ("10", "found \"10\"; add a unit, such as 10s"),
        ("", "found \"\""),
        ("-5s", "durations cannot be negative"),
        ("30m1h", "from the largest to the smallest"),
        ("1h1h", "write each unit once"),
        ("10x", "unknown unit \"x\"; use ms, s, m, h or d"),
        ("10sec", "unknown unit \"sec\""),
        ("0.5ms", "0.5ms is not a whole number of milliseconds"),
        ("36526d", "the longest duration is 100 years"),
        ("99999999999999999999d", "the longest duration is 100 years"),
        ("1h 30m", "found \"1h 30m\"; unexpected \" \""),
        ("10 s", "found \"10 s\"; unexpected \" \""),
        ("h", "found \"h\""),
        (".5s", "found \".5s\""),
    ])
    func rejectsMalformedDurations(text: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try TimeSpan(parsing: text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test func explainsWhatWasExpected() {
        let error = #expect(throws: ValidationError.self) { try TimeSpan(parsing: "10") }
        #expect(
            error?.description
                == "expected a duration such as 500ms, 10s, 5m, 1h30m or 7d, found \"10\"; add a unit, such as 10s"
        )
    }

    @Test func staticConstructorsMatchTheirUnits() throws {
        #expect(TimeSpan.milliseconds(1500) == (try TimeSpan(parsing: "1s500ms")))
        #expect(TimeSpan.seconds(90) == (try TimeSpan(parsing: "1m30s")))
        #expect(TimeSpan.minutes(90) == (try TimeSpan(parsing: "1h30m")))
        #expect(TimeSpan.hours(36) == (try TimeSpan(parsing: "1d12h")))
        #expect(TimeSpan.days(7).description == "7d")
    }

    @Test func convertsToDurationAndSeconds() throws {
        let span = try TimeSpan(parsing: "1m30s250ms")
        #expect(span.duration == .milliseconds(90_250))
        #expect(span.seconds == 90.25)
    }

    @Test func ordersByLength() {
        #expect(TimeSpan.seconds(59) < .minutes(1))
        #expect([TimeSpan.hours(1), .seconds(5), .minutes(2)].sorted() == [.seconds(5), .minutes(2), .hours(1)])
    }
}
