import Logging

/// A lasting condition (a plan warning, an endpoint that cannot be read, a store that refuses a
/// claim) logged when it starts or its message changes, and once when it ends with how many times
/// in a row it was seen, instead of on every pass or poll.
struct ConditionLog {
    private let logger: Logger
    /// What one sighting is called in the closing line: "pass", "poll".
    private let occasion: String
    private var current: [String: (message: String, times: Int)] = [:]

    init(logger: Logger, occasion: String) {
        self.logger = logger
        self.occasion = occasion
    }

    /// The condition `key` holds now, as `message` says: logged when it starts or the message changes.
    mutating func holds(_ key: String, _ message: String, level: Logger.Level = .warning, metadata: Logger.Metadata? = nil) {
        let before = current[key]
        if before?.message != message { logger.log(level: level, "\(message)", metadata: metadata) }
        current[key] = (message, (before?.times ?? 0) + 1)
    }

    /// The condition `key` no longer holds: logged once, with how many times it was seen.
    mutating func ended(_ key: String) {
        guard let (message, times) = current.removeValue(forKey: key) else { return }
        let occasions = times == 1 ? occasion : occasion.hasSuffix("s") ? occasion + "es" : occasion + "s"
        logger.info("no longer the case (seen on \(times) \(occasions) in a row): \(message)")
    }

    /// Only the conditions in `keys` hold now: every other one has ended.
    mutating func endAll(except keys: Set<String>) {
        for key in current.keys.sorted() where !keys.contains(key) { ended(key) }
    }
}
