import ArgumentParser
import Foundation
import Logging

/// How log lines are written on standard error.
enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    /// swift-log's line: `2026-12-07T01:02:03+0000 info berth.serve : key=value message`.
    case text
    /// One JSON object per line, for log shippers: `time`, `level`, `label`, `message`, `error`
    /// and `metadata` (values as strings, lists and objects).
    case json
}

/// Log lines on standard error, as swift-log's `StreamLogHandler` writes them or as JSON, with the
/// logger's metadata rendered when a line is written rather than each time it is set: Hummingbird
/// gives every request's logger an id, and rendering it cost 1.5 % of an API read that logs nothing.
struct StandardErrorLogHandler: LogHandler {
    private var stream: StreamLogHandler
    private let label: String
    private let format: LogFormat
    var metadata: Logger.Metadata = [:]

    init(label: String, level: Logger.Level, format: LogFormat) {
        stream = .standardError(label: label)
        stream.logLevel = level
        self.label = label
        self.format = format
    }

    var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        switch format {
        case .text: stream.log(event: event)
        case .json:
            // One write per line, so lines of concurrent loggers never interleave.
            FileHandle.standardError.write(JSONLogLine(event, label: label).data)
        }
    }
}

/// One log event as a line of JSON.
private struct JSONLogLine: Encodable {
    var time: Date
    var level: String
    var label: String
    var message: String
    var error: String?
    var metadata: [String: Value]?

    /// A metadata value: text, a list or an object.
    enum Value: Encodable {
        case text(String)
        case list([Value])
        case object([String: Value])

        init(_ value: Logger.MetadataValue) {
            switch value {
            case .string(let text): self = .text(text)
            case .stringConvertible(let convertible): self = .text(convertible.description)
            case .array(let values): self = .list(values.map(Value.init))
            case .dictionary(let metadata): self = .object(metadata.mapValues(Value.init))
            }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .text(let text): try container.encode(text)
            case .list(let values): try container.encode(values)
            case .object(let values): try container.encode(values)
            }
        }
    }

    init(_ event: LogEvent, label: String) {
        time = Date()
        level = event.level.rawValue
        self.label = label
        message = event.message.description
        error = event.error.map { "\($0)" }
        metadata = event.metadata.flatMap { $0.isEmpty ? nil : $0.mapValues(Value.init) }
    }

    var data: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        }
        var line = (try? encoder.encode(self)) ?? Data(#"{"level":"error","message":"a log line could not be encoded"}"#.utf8)
        line.append(UInt8(ascii: "\n"))
        return line
    }
}
