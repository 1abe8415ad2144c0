import ArgumentParser
import BerthCore
import BerthDocker
import BerthManifests
import BerthStore
import Foundation
import Logging

/// `berth jobs …`: the job queue, read and written directly in the store.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Submit, list, inspect and cancel jobs.",
        subcommands: [Submit.self, List.self, Show.self, Logs.self, Cancel.self]
    )

    /// `berth jobs submit -f job.yaml`: one job per `kind: Job` document.
    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Submit the Job documents of a file; prints each job's id.",
            discussion: "Exit status: 0 submitted (or, with --wait, every job finished), 1 invalid input or a job that failed or was cancelled."
        )

        @OptionGroup var controller: ControllerOptions
        @Option(name: [.customShort("f"), .customLong("file")], help: "A YAML file of kind: Job documents.") var file: String
        @Option(help: "A key that makes a repeated submit return the first job (one document only).") var idempotencyKey: String?
        @Option(help: "Overrides the spec's priority.") var priority: Int?
        @Flag(help: "Wait until every submitted job has ended.") var wait = false
        @Flag(help: "Print the jobs as JSON.") var json = false

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let resources: [Resource]
            do {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                resources = try Manifests.resources(yaml: text, file: file)
            } catch let error as BerthCore.ValidationError {
                printIssues(error)
                throw ExitStatus.failure
            } catch {
                throw CommandFailure("cannot read \(file): \(error.localizedDescription)")
            }
            let jobs = resources.compactMap { resource -> (Resource, JobSpec)? in
                if case .job(let spec) = resource.spec { return (resource, spec) }
                return nil
            }
            guard !jobs.isEmpty else { throw CommandFailure("\(file): no kind: Job document found") }
            guard jobs.count == 1 || idempotencyKey == nil else {
                throw CommandFailure("--idempotency-key needs a file with exactly one Job document, found \(jobs.count)")
            }
            let records = try await controller.withStore { store in
                var records: [JobRecord] = []
                for (resource, spec) in jobs {
                    let submission = JobSubmission(
                        project: resource.metadata.project, name: resource.metadata.name, spec: spec,
                        priority: priority, idempotencyKey: idempotencyKey
                    )
                    let (job, created) = try await store.submitJob(submission, now: Date())
                    if !json { print(created ? "submitted \(job.id) (\(job.project)/\(job.name))" : "already submitted as \(job.id) (idempotency key)") }
                    records.append(job)
                }
                guard wait else { return records }
                return try await Self.awaitEnd(records.map(\.id), store)
            }
            if json { try printJSON(records.map(JobView.init)) }
            if wait {
                if !json { print(JobTable(records).text) }
                if records.contains(where: { $0.state != .finished }) { throw ExitStatus.failure }
            }
        }

        /// Polls the store until every job has ended (the controller runs them).
        static func awaitEnd(_ ids: [String], _ store: any Store) async throws -> [JobRecord] {
            while true {
                var records: [JobRecord] = []
                for id in ids {
                    if let job = try await store.job(id) { records.append(job) }
                }
                if records.allSatisfy({ $0.state.isTerminal }) { return records }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// `berth jobs list`
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")

        @OptionGroup var controller: ControllerOptions
        @Option(help: "Only this project.") var project: String?
        @Option(help: "Only jobs in this state (repeatable): pending, queued, started, finished, failed, cancelled.") var state: [JobState] = []
        @Option(help: "At most this many.") var limit: Int = 50
        @Flag(help: "Print the jobs as JSON.") var json = false

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let page = try await controller.withStore { store in
                try await store.jobs(filter: JobFilter(project: project, states: Set(state)), page: PageRequest(limit: limit))
            }
            if json {
                try printJSON(page.items.map(JobView.init))
            } else if page.items.isEmpty {
                print("No jobs.")
            } else {
                print(JobTable(page.items).text)
            }
        }
    }

    /// `berth jobs show ID`
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one job: states, times, result, log tails, feedback.")

        @OptionGroup var controller: ControllerOptions
        @Argument(help: "The job id.") var id: String
        @Flag(help: "Print the job as JSON.") var json = false

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let (job, events) = try await controller.withStore { store in
                (try await store.job(id), try await store.events(EventQuery(jobID: id, limit: 1000)))
            }
            guard let job else { throw CommandFailure("no job \(id)") }
            var view = JobView(job)
            view.events = events.map(EventView.init)
            if json {
                try printJSON(view)
                return
            }
            var lines = [
                "id:          \(job.id)",
                "job:         \(job.project)/\(job.name)",
                "state:       \(job.state)\(job.reason.map { " (\($0))" } ?? "")",
                "attempt:     \(job.attempt) of \(job.spec.backoffLimit + 1)",
            ]
            if let code = job.exitCode { lines.append("exit code:   \(code)") }
            for (label, time) in [("submitted", job.submittedAt), ("queued", job.queuedAt), ("started", job.startedAt), ("finished", job.finishedAt), ("next try", job.nextAttemptAt)] {
                if let time { lines.append("\((label + ":").padding(toLength: 13, withPad: " ", startingAt: 0))\(time.formatted(.iso8601))") }
            }
            if let controller = job.claimedBy { lines.append("controller:  \(controller)") }
            if job.cancelRequested { lines.append("cancel:      requested") }
            if let feedback = view.feedback { lines.append("feedback:    \(feedback)") }
            if !events.isEmpty {
                lines.append("events:")
                lines += events.map { "  \($0.time.formatted(.iso8601))  \($0.reason.padding(toLength: 16, withPad: " ", startingAt: 0)) \($0.message)" }
            }
            if let out = job.stdoutTail, !out.isEmpty { lines.append("stdout (tail):\n" + out) }
            if let err = job.stderrTail, !err.isEmpty { lines.append("stderr (tail):\n" + err) }
            print(lines.joined(separator: "\n"))
        }
    }

    /// `berth jobs logs ID`
    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a job's output: live from its container while it runs, else the tail kept with the job.")

        @OptionGroup var controller: ControllerOptions
        @Argument(help: "The job id.") var id: String

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let job = try await controller.withStore { store in try await store.job(id) }
            guard let job else { throw CommandFailure("no job \(id)") }
            var standardError = StandardError()
            if job.state.isActive || job.spec.ttlAfterFinished != nil {
                let name = ObjectName.jobContainer(project: job.project, jobID: job.id)
                if let logs = try? await controller.openRuntime().client.logs(name) {
                    print(String(decoding: logs.stdout, as: UTF8.self), terminator: "")
                    print(String(decoding: logs.stderr, as: UTF8.self), terminator: "", to: &standardError)
                    return
                }
            }
            print(job.stdoutTail ?? "", terminator: "")
            print(job.stderrTail ?? "", terminator: "", to: &standardError)
        }
    }

    /// `berth jobs cancel ID`
    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a job: a pending one never starts; a running one is stopped (grace, then kill).",
            discussion: "Exit status: 0 when the cancel was recorded (or the job had already ended), 1 when there is no such job."
        )

        @OptionGroup var controller: ControllerOptions
        @Argument(help: "The job id.") var id: String

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let job = try await controller.withStore { store in
                do {
                    return try await store.requestCancel(id, now: Date())
                } catch let error as StoreError {
                    if error.code == .notFound { throw CommandFailure("no job \(id)") }
                    throw error
                }
            }
            switch job.state {
            case .cancelled: print("cancelled \(job.id)")
            case .finished, .failed: print("\(job.id) had already ended (\(job.state))")
            default: print("cancel requested for \(job.id) (\(job.state)); the controller stops its container")
            }
        }
    }
}

extension JobState: ExpressibleByArgument {}

/// The JSON form of a job that `berth jobs` prints (and the API will serve).
struct JobView: Encodable {
    var id: String
    var project: String
    var name: String
    var state: JobState
    var reason: String?
    var exitCode: Int?
    var attempt: Int
    var priority: Int
    var idempotencyKey: String?
    var owner: ResourceID?
    var claimedBy: String?
    var cancelRequested: Bool
    var submittedAt: Date
    var queuedAt: Date?
    var startedAt: Date?
    var finishedAt: Date?
    var nextAttemptAt: Date?
    var stdoutTail: String?
    var stderrTail: String?
    /// The worker's feedback as JSON (not a string holding JSON).
    var feedback: JSONFragment?
    var spec: JobSpec
    /// Only in `berth jobs show`: every transition and verdict, oldest first.
    var events: [EventView]?

    init(_ job: JobRecord) {
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
        cancelRequested = job.cancelRequested
        submittedAt = job.submittedAt
        queuedAt = job.queuedAt
        startedAt = job.startedAt
        finishedAt = job.finishedAt
        nextAttemptAt = job.nextAttemptAt
        stdoutTail = job.stdoutTail
        stderrTail = job.stderrTail
        feedback = job.feedback.map(JSONFragment.init)
        spec = job.spec
    }
}

/// One event in `berth jobs show --json`.
struct EventView: Encodable {
    var time: Date
    var type: String
    var reason: String
    var message: String

    init(_ event: EventRecord) {
        time = event.time
        type = event.type.rawValue
        reason = event.reason
        message = event.message
    }
}

/// JSON text embedded as JSON when it parses, else as a string.
struct JSONFragment: Encodable, CustomStringConvertible {
    var text: String

    init(_ text: String) {
        self.text = text
    }

    var description: String { text }

    func encode(to encoder: any Encoder) throws {
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

/// The text table of `berth jobs list`.
struct JobTable {
    var jobs: [JobRecord]

    init(_ jobs: [JobRecord]) {
        self.jobs = jobs
    }

    var text: String {
        var rows = [["ID", "JOB", "STATE", "REASON", "EXIT", "ATTEMPT", "SUBMITTED"]]
        for job in jobs {
            rows.append([
                job.id, "\(job.project)/\(job.name)", job.state.rawValue, job.reason ?? "-", job.exitCode.map(String.init) ?? "-",
                String(job.attempt), job.submittedAt.formatted(.iso8601),
            ])
        }
        return textTable(rows)
    }
}
