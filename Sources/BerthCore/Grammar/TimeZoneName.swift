import Foundation

/// An IANA time zone written by its location name (`Europe/Zurich`, `America/New_York`), or `UTC`.
///
/// Only `Area/Location` names from the time zone database, `UTC` and `GMT` are accepted.
/// Abbreviations (`CET`, `PST`) and fixed offsets (`GMT+2`) are refused: several of them are not
/// IANA names at all, and the ones that are read as if they named a fixed offset when they do not.
/// Names are case-sensitive, as in the database.
public struct TimeZoneName: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The name as written.
    public let identifier: String
    /// The zone's rules, from the time zone database this build carries.
    public let timeZone: TimeZone

    /// Coordinated Universal Time, the default of every schedule.
    public static let utc = TimeZoneName(identifier: "UTC", timeZone: .gmt)

    private init(identifier: String, timeZone: TimeZone) {
        self.identifier = identifier
        self.timeZone = timeZone
    }

    public init(parsing text: String) throws(ValidationError) {
        let looksLikeAName = text.contains("/") || text == "UTC" || text == "GMT"
        guard looksLikeAName, text.allSatisfy(\.isASCII), let zone = TimeZone(identifier: text) else {
            throw Self.invalid(text, looksLikeAName: looksLikeAName)
        }
        self.init(identifier: text, timeZone: zone)
    }

    private static func invalid(_ text: String, looksLikeAName: Bool) -> ValidationError {
        let message = "expected an IANA time zone such as Europe/Zurich or UTC, found \(text.quoted)"
        guard looksLikeAName else {
            return ValidationError(
                "\(message); write the zone as Area/Location (America/New_York), not as an abbreviation or offset")
        }
        let suggestion = Suggestion.didYouMean(text, among: TimeZone.knownTimeZoneIdentifiers)
        return ValidationError(suggestion.isEmpty ? "\(message); it is not in the time zone database" : message + suggestion)
    }

    public var description: String { identifier }

    public static func == (lhs: TimeZoneName, rhs: TimeZoneName) -> Bool { lhs.identifier == rhs.identifier }

    public func hash(into hasher: inout Hasher) { hasher.combine(identifier) }

    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeGrammarValue(Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        try encoder.encodeGrammarValue(self)
    }
}
