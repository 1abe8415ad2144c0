import Foundation

/// When a job runs: a five-field cron expression (`*/15 * * * *`, `0 3 * * mon-fri`), a macro
/// (`@hourly`, `@daily`/`@midnight`, `@weekly`, `@monthly`, `@yearly`/`@annually`) or a fixed interval
/// (`@every 10m`, at least 1s). Calendar expressions are read on the wall clock of a time zone,
/// UTC unless one is given; see ``nextFire(after:timeZone:)`` for daylight-saving changes.
///
/// Fields are minute, hour, day-of-month, month and day-of-week, each `*`, a value, a range `1-5`,
/// a step `*/15` or `10-50/10`, or a comma list of those. Months and weekdays may be written as
/// names (`jan`, `mon`, any case); Sunday is 0 or 7. As in Vixie cron, when both day fields are
/// restricted (neither starts with `*`) a day matches if either field matches.
public struct CronSchedule: Sendable, Hashable, Codable, CustomStringConvertible {
    /// What the schedule fires on.
    public enum Kind: Sendable, Hashable {
        /// Every minute that matches the fields.
        case calendar(Fields)
        /// A fixed interval after the previous fire.
        case every(TimeSpan)
    }

    /// The values each cron field allows.
    public struct Fields: Sendable, Hashable {
        public let minutes: Set<Int>
        public let hours: Set<Int>
        public let daysOfMonth: Set<Int>
        public let months: Set<Int>
        /// 0 is Sunday; a written 7 is stored as 0.
        public let daysOfWeek: Set<Int>
        /// True when both day fields are restricted, so a day matches if either matches.
        public let matchesEitherDay: Bool
    }

    public let kind: Kind
    /// The expression as written, trimmed, with single spaces, lowercase macros and `@every` with a canonical span.
    private let text: String

    public var description: String { text }

    private static let macros: [String: String] = [
        "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
        "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
    ]

    public init(parsing text: String) throws(ValidationError) {
        let words = text.split(whereSeparator: \.isWhitespace)
        guard let first = words.first else { throw Self.invalid(text) }
        guard first.hasPrefix("@") else {
            guard words.count == 5 else {
                throw ValidationError(
                    "expected 5 fields (minute hour day-of-month month day-of-week) or a macro such as @daily, "
                        + "found \(words.count) \(words.count == 1 ? "field" : "fields") in \(text.quoted)"
                )
            }
            kind = .calendar(try Fields(words))
            self.text = words.joined(separator: " ")
            return
        }

        let macro = first.lowercased()
        if macro == "@every" {
            guard words.count == 2 else { throw Self.invalid(text, "@every takes one duration, such as @every 10m") }
            let interval: TimeSpan
            do throws(ValidationError) {
                interval = try TimeSpan(parsing: String(words[1]))
            } catch {
                throw ValidationError("@every: \(error.description)")
            }
            guard interval >= .seconds(1) else {
                throw ValidationError("@every needs an interval of at least 1s, found \(words[1].quoted)")
            }
            kind = .every(interval)
            self.text = "@every \(interval)"
        } else if let fields = Self.macros[macro] {
            guard words.count == 1 else { throw Self.invalid(text, "\(macro) takes no fields") }
            kind = .calendar(try Fields(fields.split(separator: " ")))
            self.text = macro
        } else {
            throw Self.invalid(
                text,
                "unknown macro \(first.quoted); use @hourly, @daily, @midnight, @weekly, @monthly, @yearly, "
                    + "@annually or @every"
            )
        }
    }

    private static func invalid(_ text: String, _ advice: String? = nil) -> ValidationError {
        let message =
            "expected a cron schedule such as \"*/15 * * * *\", \"0 3 * * mon-fri\", @daily or @every 10m, "
            + "found \(text.quoted)"
        return ValidationError(advice.map { "\(message); \($0)" } ?? message)
    }

    /// The first fire strictly after `date`: the next matching minute of `timeZone`'s wall clock for
    /// calendar schedules, or `date` plus the interval for `@every` (elapsed time, the same in every
    /// zone). Nil when no minute matches within 28 years, which only happens for impossible dates
    /// such as `0 0 30 2 *`.
    ///
    /// Daylight-saving changes are handled as Vixie cron and cronie do. A schedule that fires every
    /// hour (its hour field allows all 24) follows the wall clock as it is: minutes skipped in spring
    /// do not fire, and the repeated hour in autumn fires in both passes, so `*/5 * * * *` keeps
    /// firing every five minutes of real time. Any other schedule fires once per matching wall time:
    /// a time skipped in spring fires at the end of the gap (02:30 in Europe/Zurich fires at 03:00
    /// summer time, once, even when several skipped times match), and a time repeated in autumn
    /// fires in the first pass only.
    public func nextFire(after date: Date, timeZone: TimeZone = .gmt) -> Date? {
        switch kind {
        case .calendar(let fields): fields.nextFire(after: date, in: timeZone)
        case .every(let interval): date.addingTimeInterval(interval.seconds)
        }
    }

    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeGrammarValue(Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        try encoder.encodeGrammarValue(self)
    }
}

extension CronSchedule.Fields {
    /// The name, allowed values and value names of one cron field.
    private struct Rule {
        var name: String
        var range: ClosedRange<Int>
        /// Names for consecutive values starting at `range.lowerBound`.
        var valueNames: [String] = []

        /// `a number 1-12 or a name jan-dec`
        var expected: String {
            let numbers = "a number \(range.lowerBound)-\(range.upperBound)"
            guard let first = valueNames.first, let last = valueNames.last else { return numbers }
            return "\(numbers) or a name \(first)-\(last)"
        }
    }

    private static let minute = Rule(name: "minute", range: 0...59)
    private static let hour = Rule(name: "hour", range: 0...23)
    private static let dayOfMonth = Rule(name: "day-of-month", range: 1...31)
    private static let month = Rule(
        name: "month", range: 1...12,
        valueNames: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
    private static let dayOfWeek = Rule(
        name: "day-of-week", range: 0...7, valueNames: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
    )

    /// Parses the five fields of a calendar expression.
    fileprivate init(_ words: [Substring]) throws(ValidationError) {
        minutes = try Self.values(of: words[0], rule: Self.minute)
        hours = try Self.values(of: words[1], rule: Self.hour)
        daysOfMonth = try Self.values(of: words[2], rule: Self.dayOfMonth)
        months = try Self.values(of: words[3], rule: Self.month)
        daysOfWeek = Set(try Self.values(of: words[4], rule: Self.dayOfWeek).map { $0 % 7 })
        matchesEitherDay = words[2].first != "*" && words[4].first != "*"
    }

    private static func values(of field: Substring, rule: Rule) throws(ValidationError) -> Set<Int> {
        var values = Set<Int>()
        for item in field.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            let bounds: ClosedRange<Int>
            if parts[0] == "*" {
                bounds = rule.range
            } else if let dash = parts[0].firstIndex(of: "-"), dash != parts[0].startIndex {
                let low = try value(parts[0][..<dash], rule: rule)
                let high = try value(parts[0][parts[0].index(after: dash)...], rule: rule)
                guard low <= high else {
                    throw error(rule, "range \(parts[0]) goes backwards; write the smaller value first")
                }
                bounds = low...high
            } else {
                let single = try value(parts[0], rule: rule)
                guard parts.count == 1 else {
                    throw error(
                        rule,
                        "a step needs a range or *, such as \(single)-\(rule.range.upperBound)/\(parts[1]), "
                            + "found \(item.quoted)"
                    )
                }
                bounds = single...single
            }
            var step = 1
            if parts.count == 2 {
                guard parts[1].allSatisfy(\.isASCIIDigit), let parsed = Int(parts[1]), parsed > 0 else {
                    throw error(rule, "step \(parts[1].quoted) must be a positive whole number")
                }
                step = parsed
            }
            values.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return values
    }

    private static func value(_ text: Substring, rule: Rule) throws(ValidationError) -> Int {
        if !text.isEmpty, text.allSatisfy(\.isASCIIDigit) {
            guard let number = Int(text), rule.range.contains(number) else {
                throw error(rule, "\(text) is out of range \(rule.range.lowerBound)-\(rule.range.upperBound)")
            }
            return number
        }
        guard let index = rule.valueNames.firstIndex(of: text.lowercased()) else {
            throw error(rule, "expected \(rule.expected), found \(text.quoted)")
        }
        return rule.range.lowerBound + index
    }

    private static func error(_ rule: Rule, _ problem: String) -> ValidationError {
        ValidationError("\(rule.name) field: \(problem)")
    }

    /// How far ahead `nextMinute` looks: long enough for February 29 to fall on every weekday.
    private static let searchYears = 28

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        return calendar
    }()

    /// The next fire after `date` in `zone`, taking the stretches between the zone's offset changes
    /// one at a time: within one, wall-clock time is `instant + offset`, so the UTC walk of
    /// `nextMinute` applies to the shifted time.
    fileprivate func nextFire(after date: Date, in zone: TimeZone) -> Date? {
        let followsWallClock = hours.count == 24
        let searchEnd = date.addingTimeInterval(Double(Self.searchYears) * 366 * 86_400)
        var from = date
        // Whether `from` itself may fire: true at the start of a stretch, false for `date` (strictly after).
        var includesFrom = false
        while from < searchEnd {
            let offset = Double(zone.secondsFromGMT(for: from))
            let end = zone.nextDaylightSavingTimeTransition(after: from)
            let wallFrom = from.addingTimeInterval(offset)
            let wallEnd = end?.addingTimeInterval(offset)
            if let wall = nextMinute(after: includesFrom ? wallFrom.addingTimeInterval(-1) : wallFrom, notAfter: wallEnd) {
                let fire = wall.addingTimeInterval(-offset)
                if end.map({ fire < $0 }) ?? true {
                    guard !followsWallClock, Self.isRepeated(fire, offset: offset, in: zone) else { return fire }
                    // Already fired in the first pass of the repeated hour.
                    (from, includesFrom) = (fire, false)
                    continue
                }
            }
            // Zone data only ever moves forward; the check keeps a broken table from looping.
            guard let end, let wallEnd, end > from else { return nil }
            let newOffset = Double(zone.secondsFromGMT(for: end))
            let gapEnd = end.addingTimeInterval(newOffset)
            if !followsWallClock, newOffset > offset,
                let skipped = nextMinute(after: wallEnd.addingTimeInterval(-1), notAfter: gapEnd), skipped < gapEnd
            {
                // The clock jumped over a matching wall time: fire once, as the gap ends.
                return end
            }
            (from, includesFrom) = (end, true)
        }
        return nil
    }

    /// Whether the wall time of `fire` (at `offset`) already happened earlier, before the clock was
    /// turned back. Looks one day back for the previous offset: real zones change offset far less often.
    private static func isRepeated(_ fire: Date, offset: Double, in zone: TimeZone) -> Bool {
        let earlierOffset = Double(zone.secondsFromGMT(for: fire.addingTimeInterval(-86_400)))
        guard earlierOffset > offset else { return false }
        let firstPass = fire.addingTimeInterval(offset - earlierOffset)
        return Double(zone.secondsFromGMT(for: firstPass)) == earlierOffset
    }

    /// Walks forward from the minute after `date`, skipping whole months, days and hours that cannot
    /// match, so even an impossible schedule costs about ten thousand steps. Dates are read as UTC
    /// (callers shift them to a wall clock); the walk gives up after the hour of `limit`.
    fileprivate func nextMinute(after date: Date, notAfter limit: Date? = nil) -> Date? {
        let start = Date(timeIntervalSince1970: ((date.timeIntervalSince1970 / 60).rounded(.down) + 1) * 60)
        let components = Self.utc.dateComponents([.year, .month, .day, .hour, .minute], from: start)
        guard var year = components.year, var month = components.month, var day = components.day,
            var hour = components.hour, var minute = components.minute
        else { return nil }
        let lastYear = year + Self.searchYears
        // Days and hours past their ranges (day 32, hour 24) compare as past the limit too, as they should.
        let end = limit.map { Self.utc.dateComponents([.year, .month, .day, .hour], from: $0) }
        func isPastLimit() -> Bool {
            guard let end, let endYear = end.year, let endMonth = end.month, let endDay = end.day,
                let endHour = end.hour
            else { return false }
            return (year, month, day, hour) > (endYear, endMonth, endDay, endHour)
        }

        func nextMonth() {
            (year, month) = month == 12 ? (year + 1, 1) : (year, month + 1)
            (day, hour, minute) = (1, 0, 0)
        }
        func nextDay() { (day, hour, minute) = (day + 1, 0, 0) }
        func nextHour() { (hour, minute) = (hour + 1, 0) }

        while year <= lastYear, !isPastLimit() {
            guard months.contains(month), day <= Self.daysIn(month, of: year) else {
                nextMonth()
                continue
            }
            // `nextHour` may leave hour at 24, which moves on to the next day.
            guard hour < 24, matchesDay(day, month: month, year: year) else {
                nextDay()
                continue
            }
            guard hours.contains(hour), let firstMinute = (minute...59).first(where: minutes.contains) else {
                nextHour()
                continue
            }
            return Self.utc.date(
                from: DateComponents(year: year, month: month, day: day, hour: hour, minute: firstMinute))
        }
        return nil
    }

    private func matchesDay(_ day: Int, month: Int, year: Int) -> Bool {
        let dayOfMonthMatches = daysOfMonth.contains(day)
        let dayOfWeekMatches = daysOfWeek.contains(Self.weekday(day, month: month, year: year))
        return matchesEitherDay ? dayOfMonthMatches || dayOfWeekMatches : dayOfMonthMatches && dayOfWeekMatches
    }

    private static func daysIn(_ month: Int, of year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// 0 for Sunday, by Sakamoto's method for the Gregorian calendar.
    private static func weekday(_ day: Int, month: Int, year: Int) -> Int {
        let monthOffsets = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4]
        let y = month < 3 ? year - 1 : year
        return (y + y / 4 - y / 100 + y / 400 + monthOffsets[month - 1] + day) % 7
    }
}
