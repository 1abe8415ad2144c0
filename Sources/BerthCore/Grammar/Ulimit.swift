/// A resource limit of the container's processes (`ulimit`, `setrlimit(2)`): a soft limit the
/// process may raise up to the hard one. `-1` is unlimited.
public struct Ulimit: Sendable, Hashable, Codable {
    public var soft: Int64
    public var hard: Int64

    /// The limits the engine sets by name (moby's `go-units` list, the kernel's `RLIMIT_*`).
    public static let names = [
        "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio",
        "rttime", "sigpending", "stack",
    ]

    /// Both limits; `soft` must not be above `hard` (see ``isOrdered``).
    public init(soft: Int64, hard: Int64) {
        self.soft = soft
        self.hard = hard
    }

    /// The same value for the soft and the hard limit: compose's short form `nproc: 512`.
    public init(_ both: Int64) {
        self.init(soft: both, hard: both)
    }

    /// Whether the soft limit is at most the hard one, `-1` (unlimited) being above any number.
    public var isOrdered: Bool { hard == -1 || (soft != -1 && soft <= hard) }

    static func validateName(_ name: String) throws(ValidationError) {
        guard names.contains(name) else {
            throw ValidationError("expected a ulimit name (\(names.joined(separator: ", "))), found \(name.quoted)\(Suggestion.didYouMean(name, among: names))")
        }
    }

    /// `nofile: 1024` (soft and hard) or `nofile: {soft: 1024, hard: 2048}`.
    static func read(_ reader: ValueReader) throws -> Ulimit {
        if case .number = reader.node.content { return Ulimit(try limitValue(reader)) }
        guard case .map = reader.node.content else {
            throw reader.fail("expected a number (soft and hard limit) or {soft: N, hard: N}, found \(reader.node.kindDescription)")
        }
        let map = try reader.map()
        defer { map.finish() }
        let soft = map.required("soft", limitValue)
        let hard = map.required("hard", limitValue)
        guard let soft, let hard else { throw AlreadyReported() }
        let limit = Ulimit(soft: soft, hard: hard)
        guard limit.isOrdered else {
            map.report("expected the soft limit to be at most the hard limit, found soft \(soft) above hard \(hard)", field: "soft")
            throw AlreadyReported()
        }
        return limit
    }

    private static func limitValue(_ reader: ValueReader) throws -> Int64 {
        let value = try reader.int()
        guard value >= -1 else { throw reader.fail("expected a limit of 0 or more, or -1 for unlimited, found \(value)") }
        return Int64(value)
    }
}

extension Ulimit {
    /// A ulimit name of a policy's `ulimits`.
    static func validatedName(_ name: String) throws(ValidationError) -> String {
        try validateName(name)
        return name
    }
}
