import BerthController
import BerthCore
import BerthStore
import Foundation

/// A job's answer as bytes, without events: the body of its completion webhook.
public enum JobAnswer {
    @Sendable public static func bytes(_ job: JobRecord) throws -> [UInt8] {
        var writer = JSONWriter()
        try writer.job(job)
        return writer.bytes
    }
}

/// The JSON form of a job, as the API serves it and `berth jobs` prints it.
public struct JobView: Codable, Sendable {
    public var id: String
    public var project: String
    public var name: String
    public var state: JobState
    public var reason: String?
    public var exitCode: Int?
    public var attempt: Int
    public var priority: Int
    public var idempotencyKey: String?
    public var owner: ResourceID?
    public var claimedBy: String?
    /// The engine the claiming controller runs the job on (`/info` ID and data root).
    public var claimedEngine: String?
    public var cancelRequested: Bool
    public var submittedAt: Date
    public var queuedAt: Date?
    public var startedAt: Date?
    public var finishedAt: Date?
    public var nextAttemptAt: Date?
    public var stdoutTail: String?
    public var stderrTail: String?
    /// The worker's feedback as JSON (not a string holding JSON).
    public var feedback: JSONFragment?
    public var spec: JobSpec
    /// Only when one job is shown: every transition and verdict, oldest first.
    public var events: [EventView]?
    /// The Job document's `metadata.labels`.
    public var labels: [String: String]
    /// Only when one job is shown: its completion webhooks and archived output (issue 20).
    public var deliveries: [JobDelivery]?
    public var logArchives: [JobLogArchive]?
    /// The JobTemplate the job was rendered from.
    public var template: JobTemplateRef?

    public init(_ job: JobRecord, events: [EventRecord]? = nil, deliveries: [JobDelivery]? = nil, logArchives: [JobLogArchive]? = nil) {
        self.deliveries = deliveries
        self.logArchives = logArchives
        id = job.id
        project = job.project
        name = job.name
        state = job.state
        reason = job.reason
        exitCode = job.exitCode
        attempt = job.attempt
        priority = job.priority
        idempotencyKey = job.idempotencyKey
        owner = job.owner
        claimedBy = job.claimedBy
        claimedEngine = job.claimedEngine
        cancelRequested = job.cancelRequested
        submittedAt = job.submittedAt
        queuedAt = job.queuedAt
        startedAt = job.startedAt
        finishedAt = job.finishedAt
        nextAttemptAt = job.nextAttemptAt
        stdoutTail = job.stdoutTail
        stderrTail = job.stderrTail
        feedback = job.feedback.map(JSONFragment.init)
        spec = job.spec.hidingLiteralEnv()
        self.events = events?.map(EventView.init)
        labels = job.labels
        template = job.template
    }
}

extension JSONWriter {
    /// A job exactly as ``JobView`` encodes it, written from the record with the stored spec
    /// text embedded: the answer of every job route.
    mutating func job(_ job: JobRecord, events: [EventRecord]? = nil, deliveries: [JobDelivery]? = nil, logArchives: [JobLogArchive]? = nil) throws {
        beginObject()
        key("attempt"); integer(job.attempt)
        key("cancelRequested"); bool(job.cancelRequested)
        if let value = job.claimedBy { key("claimedBy"); string(value) }
        if let value = job.claimedEngine { key("claimedEngine"); string(value) }
        // Keys in sorted order, as ``JobView`` encodes them: `deliveries` and `logArchives` (issue 20).
        if let deliveries { key("deliveries"); raw(try JSONAnswer.text(deliveries)) }
        if let events {
            key("events")
            beginArray()
            for event in events {
                element()
                self.event(event)
            }
            endArray()
        }
        if let value = job.exitCode { key("exitCode"); integer(value) }
        if let value = job.feedback {
            key("feedback")
            raw(try JSONAnswer.text(JSONFragment(value)))
        }
        if let value = job.finishedAt { key("finishedAt"); date(value) }
        key("id"); string(job.id)
        if let value = job.idempotencyKey { key("idempotencyKey"); string(value) }
        // The encoder's own text: its key order is the one to match.
        key("labels"); raw(try JSONAnswer.text(job.labels))
        if let logArchives { key("logArchives"); raw(try JSONAnswer.text(logArchives)) }
        key("name"); string(job.name)
        if let value = job.nextAttemptAt { key("nextAttemptAt"); date(value) }
        if let value = job.owner { key("owner"); resourceID(value) }
        key("priority"); integer(job.priority)
        key("project"); string(job.project)
        if let value = job.queuedAt { key("queuedAt"); date(value) }
        if let value = job.reason { key("reason"); string(value) }
        key("spec"); raw(job.shownSpecJSON)
        if let value = job.startedAt { key("startedAt"); date(value) }
        key("state"); string(job.state.rawValue)
        if let value = job.stderrTail { key("stderrTail"); string(value) }
        if let value = job.stdoutTail { key("stdoutTail"); string(value) }
        key("submittedAt"); date(job.submittedAt)
        if let value = job.template {
            key("template")
            beginObject()
            if let generation = value.generation { key("generation"); integer(Int(generation)) }
            key("name"); string(value.name)
            endObject()
        }
        endObject()
    }

    /// An event exactly as ``EventView`` encodes it.
    mutating func event(_ event: EventRecord) {
        beginObject()
        if let value = event.jobID { key("jobID"); string(value) }
        key("message"); string(event.message)
        key("project"); string(event.project)
        key("reason"); string(event.reason)
        if let value = event.resource { key("resource"); resourceID(value) }
        key("sequence"); integer(event.sequence)
        key("time"); date(event.time)
        key("type"); string(event.type.rawValue)
        endObject()
    }

    private mutating func resourceID(_ id: ResourceID) {
        beginObject()
        key("kind"); string(id.kind.rawValue)
        key("name"); string(id.name)
        key("project"); string(id.project)
        endObject()
    }

    /// A page of jobs exactly as ``ItemsView`` of ``JobView`` encodes it.
    mutating func jobs(_ page: Page<JobRecord>) throws {
        beginObject()
        key("items")
        beginArray()
        for job in page.items {
            element()
            try self.job(job)
        }
        endArray()
        if let next = page.nextCursor { key("next"); string(next) }
        endObject()
    }
}

/// One event: a job's transition or verdict, or an action on a resource.
public struct EventView: Codable, Sendable {
    /// Increases with every event; `GET /v1/events?after=` resumes after it.
    public var sequence: Int64
    public var time: Date
    public var type: String
    public var reason: String
    public var message: String
    public var project: String
    public var resource: ResourceID?
    public var jobID: String?

    public init(_ event: EventRecord) {
        sequence = event.sequence
        time = event.time
        type = event.type.rawValue
        reason = event.reason
        message = event.message
        project = event.project
        resource = event.resource
        jobID = event.jobID
    }
}

/// A desired resource as the API shows it: the document plus where it came from.
public struct ResourceView: Codable, Sendable {
    public var kind: ResourceKind
    public var project: String
    public var name: String
    /// `api` or `manifest`.
    public var source: String
    /// The manifest file that declares it, for `source: manifest`.
    public var file: String?
    /// Bumped on every change of an API resource's document; absent for manifest resources.
    public var generation: Int64?
    public var createdAt: Date?
    public var updatedAt: Date?
    public var deletedAt: Date?
    /// The whole document, defaults filled in.
    public var document: Resource

    public init(_ stored: StoredResource) {
        kind = stored.id.kind
        project = stored.id.project
        name = stored.id.name
        source = stored.source.rawValue
        generation = stored.generation
        createdAt = stored.createdAt
        updatedAt = stored.updatedAt
        deletedAt = stored.deletedAt
        document = stored.resource
    }

    public init(manifest resource: Resource) {
        kind = resource.kind
        project = resource.metadata.project
        name = resource.metadata.name
        source = ResourceSource.manifest.rawValue
        file = resource.location?.file
        document = resource
    }
}

/// A list answer: `{"items": […], "next": cursor}`; `next` is absent on the last page.
public struct ItemsView<Item: Codable & Sendable>: Codable, Sendable {
    public var items: [Item]
    public var next: String?

    public init(items: [Item], next: String? = nil) {
        self.items = items
        self.next = next
    }
}

/// `GET /v1/status`: the statuses, how the controller of the serving process stands (absent
/// when the process runs no controller), and the git source (absent when there is none, and for
/// a token limited to one project).
public struct StatusListView: Codable, Sendable {
    public var items: [ResourceStatus]
    public var controller: ControllerReport?
    public var source: SourceView?
    /// Every CronJob's schedule, last scheduled time, last run and next fire time.
    public var cronJobs: [CronJobStatus]

    public init(items: [ResourceStatus], controller: ControllerReport? = nil, source: SourceView? = nil, cronJobs: [CronJobStatus] = []) {
        self.items = items
        self.controller = controller
        self.source = source
        self.cronJobs = cronJobs
    }
}

/// What the controller would do now: the plan's steps, and the same as text.
public struct PlanView: Encodable, Sendable {
    /// How many steps change something.
    public var changes: Int
    public var text: String
    /// What could not be read, each with why (``Plan/unreadable``).
    public var unreadable: [String]
    public var plan: Plan

    public init(_ plan: Plan) {
        changes = plan.actions.filter(\.operation.isChange).count
        text = plan.description
        unreadable = plan.unreadable
        self.plan = plan
    }

    /// What a client reads back of a plan.
    public struct Summary: Decodable, Sendable {
        public var changes: Int
        public var text: String
        public var unreadable: [String]?
    }
}

/// The output of a job: the container's log while it runs (or is kept), else the tails kept with the job.
public struct JobLogsView: Codable, Sendable {
    public var stdout: String
    public var stderr: String
    /// `container` (read live from the engine) or `stored` (the tails kept with the job).
    public var source: String

    public init(stdout: String, stderr: String, source: String) {
        self.stdout = stdout
        self.stderr = stderr
        self.source = source
    }

    /// Lines of each stream an answer holds unless `tail` asks for fewer or more.
    public static let defaultTail = 1000
    /// The most lines of each stream `tail` may ask for.
    public static let maximumTail = 10_000

    /// The last `count` lines of `text`; a line end at the very end closes the last line.
    public static func lastLines(_ text: String, _ count: Int) -> String {
        let lineFeed = UInt8(ascii: "\n")
        let bytes = text.utf8
        var index = bytes.endIndex
        if index > bytes.startIndex, bytes[bytes.index(before: index)] == lineFeed { index = bytes.index(before: index) }
        var seen = 0
        while index > bytes.startIndex {
            let previous = bytes.index(before: index)
            if bytes[previous] == lineFeed {
                seen += 1
                if seen == count { return String(text[index...]) }
            }
            index = previous
        }
        return text
    }
}

/// A progress report a worker posts about its own job (`POST /v1/jobs/{id}/progress`).
public struct ProgressReport: Codable, Sendable {
    public var message: String
    /// 0–100, when the worker knows.
    public var percent: Double?

    public init(message: String, percent: Double? = nil) {
        self.message = message
        self.percent = percent
    }
}

/// JSON text embedded as JSON when it parses, else as a string.
public struct JSONFragment: Codable, Sendable, CustomStringConvertible {
    public var text: String

    public init(_ text: String) {
        self.text = text
    }

    public var description: String { text }

    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        let data = try JSONEncoder().encode(value)
        text = String(decoding: data, as: UTF8.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) {
            try container.encode(value)
        } else {
            try container.encode(text)
        }
    }
}

/// Any JSON value, for re-encoding a worker's feedback.
indirect enum JSONValue: Codable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// The encoder every JSON answer uses: ISO 8601 dates, sorted keys.
public enum APIJSON {
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
