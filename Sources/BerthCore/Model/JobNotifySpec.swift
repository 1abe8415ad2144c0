import Foundation

/// A job's completion webhook: a signed POST to `url` when the job ends in one of `events`.
public struct JobNotifySpec: Sendable, Hashable, Codable {
    /// How a job ended, as the webhook's `X-Berth-Event` names it.
    public enum Event: String, Sendable, Hashable, Codable, CaseIterable {
        case finished, failed, cancelled

        /// The event of a job that ended in `state`; nil while it has not ended.
        public init?(_ state: JobState) {
            switch state {
            case .finished: self = .finished
            case .failed: self = .failed
            case .cancelled: self = .cancelled
            case .pending, .queued, .started: return nil
            }
        }
    }

    /// `http://` or `https://`, without credentials; redirects are not followed.
    public var url: String
    /// A host file holding the HMAC-SHA256 key (trimmed), read by the controller at each attempt.
    public var secretFile: String
    public var events: [Event]

    public init(url: String, secretFile: String, events: [Event] = Event.allCases) {
        self.url = url
        self.secretFile = secretFile
        self.events = events
    }

    /// `host:port` of the URL (the scheme's port when none is written), as `policy.webhookHosts` lists it.
    public var hostPort: String {
        Self.hostPort(url) ?? url
    }

    static func hostPort(_ url: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host, !host.isEmpty else { return nil }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        return "\(host.lowercased()):\(port)"
    }

    static func read(_ map: MapReader) -> JobNotifySpec? {
        let url = map.required("url") { reader -> String in
            let text = try reader.nonEmptyString()
            guard text.count <= 2048, let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
                scheme == "http" || scheme == "https", hostPort(text) != nil
            else {
                throw reader.fail("expected an http:// or https:// URL with a host, such as https://app.example.com:8443/berth, found \(text.quoted)")
            }
            guard components.user == nil, components.password == nil else {
                throw reader.fail("a webhook URL carries no credentials (they would show in the job's answer); the signature authenticates Berth")
            }
            return text
        }
        let secretFile = map.required("secretFile") { try $0.absolutePath() }
        let events = map.optional("events", default: Event.allCases) { reader -> [Event] in
            if case .list(let items) = reader.node.content, items.isEmpty {
                throw reader.fail("expected at least one of finished, failed, cancelled")
            }
            let events = try reader.list { try $0.choice(Event.self) }
            return Event.allCases.filter(events.contains)
        }
        guard let url, let secretFile else { return nil }
        return JobNotifySpec(url: url, secretFile: secretFile, events: events)
    }

    public init(from decoder: any Decoder) throws {
        self = try Self.decodeInput(from: decoder, read: Self.read)
    }
}

extension ValueReader {
    /// A nested map read with `read`, its unknown keys reported.
    func nested<T>(_ read: (MapReader) -> T?) throws -> T {
        let map = try self.map()
        defer { map.finish() }
        guard let value = read(map) else { throw AlreadyReported() }
        return value
    }
}

/// Where a job's complete output goes when an attempt ends: gzip objects in an S3 bucket, under
/// `<prefix><job id>/<attempt>/stdout.gz` and `…/stderr.gz`.
public struct LogArchiveSpec: Sendable, Hashable, Codable {
    /// The bucket's name on the endpoint (a Bucket resource's `bucketName`).
    public var bucket: String
    /// Prepended to every key as written (`jobs/` gives `jobs/<id>/…`); may be empty.
    public var prefix: String

    public init(bucket: String, prefix: String = "") {
        self.bucket = bucket
        self.prefix = prefix
    }

    /// The object key of one stream of one attempt.
    public func key(jobID: String, attempt: Int, stream: String) -> String {
        "\(prefix)\(jobID)/\(attempt)/\(stream).gz"
    }

    static func read(_ map: MapReader) -> LogArchiveSpec? {
        let bucket = map.required("bucket") { try $0.parse(BucketName.validated) }
        let prefix = map.optional("prefix", default: "") { reader -> String in
            let text = try reader.string()
            guard text.utf8.count <= 512, !text.hasPrefix("/"), !text.contains(where: { $0.isNewline }) else {
                throw reader.fail("expected a key prefix of at most 512 bytes, not starting with / (such as jobs/), found \(text.quoted)")
            }
            return text
        }
        guard let bucket else { return nil }
        return LogArchiveSpec(bucket: bucket, prefix: prefix)
    }

    public init(from decoder: any Decoder) throws {
        self = try Self.decodeInput(from: decoder, read: Self.read)
    }
}
