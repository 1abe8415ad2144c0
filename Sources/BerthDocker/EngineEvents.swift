import BerthHTTP
import Foundation

/// What an event watch delivers: engine events, and a note after each reconnect (the engine
/// replays what it still buffers since the last event seen; consumers resync to be sure).
public enum EngineWatchItem: Sendable, Hashable {
    case event(EngineEvent)
    /// The stream was lost and is back; `after` is the time of the last event delivered before.
    case reconnected(after: Date)
}

extension DockerClient {
    /// Watches engine events matching `filters` (`["label": ["berth.managed=true"]]`), from `since`
    /// (default: now). A lost stream (engine restart, socket gone) is reopened with backoff from the
    /// last event seen, duplicates removed, until the iteration ends. Only a refusal the engine will
    /// repeat (a bad filter) ends the stream with an error. `admitting`: a look at each event's
    /// raw JSON line before it is decoded; lines it refuses are skipped undecoded (decoding is
    /// most of what watching costs on a busy engine).
    public func events(
        filters: [String: [String]] = [:],
        since: Date? = nil,
        reconnectDelay: Duration = .milliseconds(250),
        admitting: (@Sendable ([UInt8]) -> Bool)? = nil
    ) -> AsyncThrowingStream<EngineWatchItem, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                var cursor = EventCursor(since: since ?? Date())
                var failures = 0
                while !Task.isCancelled {
                    do {
                        let query = Self.eventsQuery(since: cursor, filters: filters)
                        let response = try await openStream("GET", "/events", query: query, what: "watch events")
                        if failures > 0 { continuation.yield(.reconnected(after: cursor.lastTime)) }
                        failures = 0
                        var lines = LineBuffer()
                        for try await chunk in response.body {
                            for line in lines.feed(chunk) where admitting?(line) ?? true {
                                let event = try Self.event(line, what: "watch events")
                                if cursor.admit(event) { continuation.yield(.event(event)) }
                            }
                        }
                        failures += 1
                    } catch {
                        let mapped = Self.mapTransport(error, endpoint)
                        if mapped.code == .cancelled || Task.isCancelled { break }
                        guard mapped.isRetryable || mapped.code == .decoding else {
                            continuation.finish(throwing: mapped)
                            return
                        }
                        failures += 1
                    }
                    let delay = reconnectDelay * min(1 << min(failures - 1, 5), 20)
                    try? await Task.sleep(for: delay)
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

extension DockerClient {
    /// The events matching `filters` between `since` and `until` that the engine still holds (it
    /// keeps a short backlog); the answer ends at `until` instead of following.
    public func pastEvents(filters: [String: [String]], since: Date, until: Date) async throws(DockerError) -> [EngineEvent] {
        let query = Self.eventsQuery(since: EventCursor(since: since), until: EventCursor(since: until), filters: filters)
        let response = try await send("GET", "/events", query: query, what: "read past events")
        var lines = LineBuffer()
        var events: [EngineEvent] = []
        for line in lines.feed(response.body + [UInt8(ascii: "\n")]) where !line.isEmpty {
            events.append(try Self.event(line, what: "read past events"))
        }
        return events
    }

    /// The `/events` query: from `since` (up to `until`, else following), matching `filters`.
    private static func eventsQuery(since: EventCursor, until: EventCursor? = nil, filters: [String: [String]]) -> [(String, String)] {
        var query = [("since", since.sinceText)]
        if let until { query.append(("until", until.sinceText)) }
        if !filters.isEmpty { query.append(("filters", Self.filters(filters))) }
        return query
    }

    /// One line of the `/events` answer as an event.
    private static func event(_ line: [UInt8], what: String) throws(DockerError) -> EngineEvent {
        do {
            return try JSONDecoder().decode(EngineEvent.self, from: Data(line))
        } catch {
            throw DockerError.decoding(what, error)
        }
    }
}

/// Where an event watch resumes, and which events at that instant were already delivered.
struct EventCursor {
    private(set) var lastNano: Int64
    private var deliveredAtLast: Set<String> = []

    init(since: Date) {
        lastNano = Int64(since.timeIntervalSince1970 * 1_000_000_000)
    }

    var lastTime: Date { Date(timeIntervalSince1970: Double(lastNano) / 1_000_000_000) }

    /// `seconds.nanoseconds`, the engine's `since` format.
    var sinceText: String {
        let seconds = lastNano / 1_000_000_000
        let nanos = lastNano % 1_000_000_000
        let fraction = String(nanos)
        return "\(seconds).\(String(repeating: "0", count: 9 - fraction.count))\(fraction)"
    }

    /// True for an event not delivered before (a resumed stream repeats the instant it resumes at).
    mutating func admit(_ event: EngineEvent) -> Bool {
        let key = "\(event.type)|\(event.actorID)|\(event.action)"
        if event.timeNano < lastNano { return false }
        if event.timeNano == lastNano { return deliveredAtLast.insert(key).inserted }
        lastNano = event.timeNano
        deliveredAtLast = [key]
        return true
    }
}
