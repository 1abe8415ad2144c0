import ArgumentParser
import BerthAPI
import BerthCore
import BerthStore
import Foundation
import Logging

/// `berth jobs …`: the job queue, through the client the options choose (a server's API or the store).
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Submit, list, inspect and cancel jobs.",
        subcommands: [Submit.self, List.self, Show.self, Logs.self, Cancel.self]
    )

    /// `berth jobs submit -f job.yaml`: one job per `kind: Job` document.
    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "submit",
            abstract: "Submit the Job documents of a file, or a job from a JobTemplate; prints each job's id.",
            discussion: """
                With --template, the server renders the job from the JobTemplate with the parameters given by -p and \
                writes the --file-input files into its container before it starts (needs --server). \
                Exit status: 0 submitted (or, with --wait, every job finished), 1 invalid input or a job that failed or was cancelled.
                """
        )

        @OptionGroup var controller: ControllerOptions
        @Option(name: [.customShort("f"), .customLong("file")], help: "A YAML file of kind: Job documents.") var file: String?
        @Option(help: "A key that makes a repeated submit return the first job (one document only).") var idempotencyKey: String?
        @Option(help: "Overrides the spec's priority.") var priority: Int?
        @Flag(help: "Wait until every submitted job has ended.") var wait = false
        @Flag(help: "Print the jobs as JSON.") var json = false
        // JobTemplate submissions.
        @Option(help: "Submit a job from this JobTemplate instead of a file.") var template: String?
        @Option(help: "The JobTemplate's project.") var project = ResourceID.defaultProject
        @Option(name: [.customShort("p"), .customLong("parameter")], help: "A template parameter, NAME=VALUE (repeatable).") var parameters: [String] = []
        @Option(help: "An input file, CONTAINER-PATH=LOCAL-FILE (repeatable): sent with the job, written into its container.") var fileInput: [String] = []

        func validate() throws {
            guard (file == nil) != (template == nil) else { throw ArgumentParser.ValidationError("give either --file or --template") }
            if template == nil, !parameters.isEmpty || !fileInput.isEmpty {
                throw ArgumentParser.ValidationError("-p and --file-input go with --template")
            }
            if template != nil, priority != nil { throw ArgumentParser.ValidationError("--priority goes with --file; a template's job keeps its priority") }
            for text in parameters + fileInput where Self.pair(text) == nil {
                throw ArgumentParser.ValidationError("expected NAME=VALUE, found \"\(text)\"")
            }
        }

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let views: [JobView]
            if let template {
                views = try await submitTemplate(template)
            } else {
                views = try await submitDocuments(file ?? "")
            }
            if json { try printJSON(views) }
            if wait {
                if !json { print(JobTable(views).text) }
                if views.contains(where: { $0.state != .finished }) { throw ExitStatus.failure }
            }
        }

        private func submitDocuments(_ file: String) async throws -> [JobView] {
            let resources = try readDocuments(file)
            let jobs = resources.compactMap { resource -> (Resource, JobSpec)? in
                if case .job(let spec) = resource.spec { return (resource, spec) }
                return nil
            }
            guard !jobs.isEmpty else { throw CommandFailure("\(file): no kind: Job document found") }
            guard jobs.count == 1 || idempotencyKey == nil else {
                throw CommandFailure("--idempotency-key needs a file with exactly one Job document, found \(jobs.count)")
            }
            return try await controller.withClient { client in
                var views: [JobView] = []
                for (resource, spec) in jobs {
                    let (job, created) = try await client.submitJob(resource, spec: spec, priority: priority, idempotencyKey: idempotencyKey)
                    report(job, created: created)
                    views.append(job)
                }
                guard wait else { return views }
                return try await client.awaitEnd(of: views)
            }
        }

        /// Reads the local input files and asks the server for the template's job.
        private func submitTemplate(_ template: String) async throws -> [JobView] {
            var files: [String: TemplateJobRequest.File] = [:]
            for text in fileInput {
                guard let pair = Self.pair(text) else { continue }
                let (path, local) = pair
                guard let data = FileManager.default.contents(atPath: local) else { throw CommandFailure("--file-input \(text): cannot read \(local)") }
                files[path] = TemplateJobRequest.File(content: data.base64EncodedString())
            }
            let values = Dictionary(parameters.compactMap(Self.pair), uniquingKeysWith: { _, last in last })
            let request = TemplateJobRequest(template: template, project: project, parameters: values, files: files)
            return try await controller.withClient { client in
                let (job, created) = try await client.submitTemplateJob(request, idempotencyKey: idempotencyKey)
                report(job, created: created)
                return wait ? try await client.awaitEnd(of: [job]) : [job]
            }
        }

        /// `NAME=VALUE` split at the first `=`; nil without one or with an empty name.
        static func pair(_ text: String) -> (String, String)? {
            guard let equals = text.firstIndex(of: "="), equals != text.startIndex else { return nil }
            return (String(text[..<equals]), String(text[text.index(after: equals)...]))
        }

        private func report(_ job: JobView, created: Bool) {
            if !json { print(created ? "submitted \(job.id) (\(job.project)/\(job.name))" : "already submitted as \(job.id) (idempotency key)") }
        }
    }

    /// `berth jobs list`
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List jobs, newest first.")

        @OptionGroup var controller: ControllerOptions
        @Option(help: "Only this project.") var project: String?
        @Option(help: "Only jobs in this state (repeatable): pending, queued, started, finished, failed, cancelled.") var state: [JobState] = []
        @Option(
            name: [.customShort("l"), .customLong("label")], help: "Only jobs with this label, key=value (repeatable: all must match).",
            transform: parseLabelSelector
        ) var label: [LabelSelector] = []
        @Option(help: "At most this many.") var limit: Int = 50
        @Flag(help: "Print the jobs as JSON.") var json = false

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let jobs = try await controller.withClient { client in try await client.jobs(project: project, states: state, labels: label, limit: limit) }
            if json {
                try printJSON(jobs)
            } else if jobs.isEmpty {
                print("No jobs.")
            } else {
                print(JobTable(jobs).text)
            }
        }
    }

    /// `berth jobs show ID`
    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one job: states, times, result, log tails, feedback.")

        /// Why a pending job with `selector` waits, when no node that takes work matches it; nil
        /// when one does or the nodes are unknown.
        static func waiting(for selector: [String: String], nodes: [NodeView]?) -> String? {
            guard let nodes else { return nil }
            let matching = nodes.filter { NodeIdentity(name: $0.name, labels: $0.labels).matches(selector) }
            guard !matching.contains(where: \.schedulable) else { return nil }
            if matching.isEmpty { return "no node carries these labels" }
            return "every node with these labels takes no work now: " + matching.map { "\($0.name) \($0.ready ? $0.state : "NotReady")" }.joined(separator: ", ")
        }

        @OptionGroup var controller: ControllerOptions
        @Argument(help: "The job id.") var id: String
        @Flag(help: "Print the job as JSON.") var json = false

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let (job, nodes) = try await controller.withClient { client in
                let job = try await client.job(id)
                guard job.state == .pending, !job.spec.nodeSelector.isEmpty else { return (job, [NodeView]?.none) }
                // Best effort: a token that may not read the nodes (a project-limited one) gets no hint.
                return (job, try? await client.nodes())
            }
            if json {
                try printJSON(job)
                return
            }
            let events = job.events ?? []
            var lines = [
                "id:          \(job.id)",
                "job:         \(job.project)/\(job.name)",
                "state:       \(job.state)\(job.reason.map { " (\($0))" } ?? "")",
                "attempt:     \(job.attempt) of \(job.spec.backoffLimit + 1)",
            ]
            if let code = job.exitCode { lines.append("exit code:   \(code)") }
            if let key = job.spec.concurrencyKey { lines.append("key:         \(key) (at most \(job.spec.keyLimit) at once)") }
            if !job.spec.nodeSelector.isEmpty {
                let selector = job.spec.nodeSelector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
                lines.append("nodes:       " + TerminalText.escaped(selector, keepingLines: false))
                if let waiting = Self.waiting(for: job.spec.nodeSelector, nodes: nodes) { lines.append("waiting:     " + TerminalText.escaped(waiting, keepingLines: false)) }
            }
            if !job.labels.isEmpty {
                lines.append("labels:      " + job.labels.sorted { $0.key < $1.key }.map { TerminalText.escaped("\($0.key)=\($0.value)", keepingLines: false) }.joined(separator: ", "))
            }
            for (label, time) in [("submitted", job.submittedAt), ("queued", job.queuedAt), ("started", job.startedAt), ("finished", job.finishedAt), ("next try", job.nextAttemptAt)] {
                if let time { lines.append("\((label + ":").padding(toLength: 13, withPad: " ", startingAt: 0))\(time.formatted(.iso8601))") }
            }
            if let controller = job.claimedBy { lines.append("controller:  \(controller)") }
            if let engine = job.claimedEngine { lines.append("engine:      \(engine)") }
            if job.cancelRequested { lines.append("cancel:      requested") }
            if let feedback = job.feedback { lines.append("feedback:    \(feedback)") }
            if !events.isEmpty {
                lines.append("events:")
                lines += events.map { "  \($0.time.formatted(.iso8601))  \($0.reason.padding(toLength: 16, withPad: " ", startingAt: 0)) \(TerminalText.escaped($0.message, keepingLines: false))" }
            }
            // Completion webhooks and archived output (issue 20).
            if let deliveries = job.deliveries, !deliveries.isEmpty {
                lines.append("webhooks:")
                for delivery in deliveries {
                    var line =
                        "  \(delivery.event.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) \(delivery.outcome.rawValue), \(delivery.attempts) attempt\(delivery.attempts == 1 ? "" : "s")"
                    if let status = delivery.lastStatus { line += ", last HTTP \(status)" }
                    if let error = delivery.lastError { line += ", last error: \(TerminalText.escaped(error, keepingLines: false))" }
                    if delivery.outcome == .pending, let next = delivery.nextAttemptAt { line += ", next \(next.formatted(.iso8601))" }
                    lines.append(line + "  (delivery \(delivery.id))")
                }
            }
            for archive in job.logArchives ?? [] {
                lines.append("full logs:   attempt \(archive.attempt): s3://\(archive.bucket)/\(archive.stdoutKey) (\(archive.stdoutBytes) bytes), …/stderr.gz (\(archive.stderrBytes) bytes)")
            }
            if let out = job.stdoutTail, !out.isEmpty { lines.append("stdout (tail):\n" + TerminalText.escaped(out, keepingLines: true)) }
            if let err = job.stderrTail, !err.isEmpty { lines.append("stderr (tail):\n" + TerminalText.escaped(err, keepingLines: true)) }
            print(lines.joined(separator: "\n"))
        }
    }

    /// `berth jobs logs ID [--follow]`
    struct Logs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "logs",
            abstract: "Print a job's output: live from its container while it runs, else the tail kept with the job.",
            discussion: "With --follow, prints the output as it comes until the job ends; exit status 0 when it finished, 1 otherwise."
        )

        @OptionGroup var controller: ControllerOptions
        @Argument(help: "The job id.") var id: String
        @Flag(help: "Keep printing until the job ends.") var follow = false
        @Option(help: "Only the last lines of each stream, 1 to \(JobLogsView.maximumTail) (through the API, \(JobLogsView.defaultTail) unless given).") var tail: Int?
        @Flag(help: "The whole output archived in the job's logArchive bucket, byte for byte: stdout to stdout, stderr to stderr.") var full = false
        @Option(help: "With --full: this attempt's output (default: the latest archived).") var attempt: Int?
        @OptionGroup var objectStorage: ObjectStorageOptions

        func validate() throws {
            if let tail, !(1...JobLogsView.maximumTail).contains(tail) {
                throw ArgumentParser.ValidationError("--tail is 1 to \(JobLogsView.maximumTail), found \(tail)")
            }
            if full, follow || tail != nil { throw ArgumentParser.ValidationError("--full prints the whole archived output; it takes neither --follow nor --tail") }
            if attempt != nil, !full { throw ArgumentParser.ValidationError("--attempt goes with --full") }
        }

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            try await controller.withClient { client in
                if full {
                    // As archived, unescaped: a program reads it.
                    try await client.archivedJobLogs(id, attempt: attempt, stream: "stdout", objectStorage: objectStorage) { try FileHandle.standardOutput.write(contentsOf: $0) }
                    try await client.archivedJobLogs(id, attempt: attempt, stream: "stderr", objectStorage: objectStorage) { try FileHandle.standardError.write(contentsOf: $0) }
                    return
                }
                try await client.jobLogs(id, tail: tail, follow: follow) { output in
                    switch output {
                    case .stdout(let text): printOutput(text, "")
                    case .stderr(let text): printOutput("", text)
                    }
                    // A follower's reader (a pipe, a file) sees the output as it comes.
                    if follow { fflush(nil) }
                }
            }
        }

        /// A worker's output as it was written, its control characters escaped.
        private func printOutput(_ stdout: String, _ stderr: String) {
            var standardError = StandardError()
            print(TerminalText.escaped(stdout, keepingLines: true), terminator: "")
            print(TerminalText.escaped(stderr, keepingLines: true), terminator: "", to: &standardError)
        }
    }

    /// `berth jobs cancel ID`
    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cancel",
            abstract: "Cancel a job: a pending one never starts; a running one is stopped (grace, then kill).",
            discussion: "Exit status: 0 when the cancel was recorded (or the job had already ended), 1 when there is no such job."
        )

        @OptionGroup var controller: ControllerOptions
        @Argument(help: "The job id.") var id: String

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let job = try await controller.withClient { client in try await client.cancelJob(id) }
            switch job.state {
            case .cancelled: print("cancelled \(job.id)")
            case .finished, .failed: print("\(job.id) had already ended (\(job.state))")
            default: print("cancel requested for \(job.id) (\(job.state)); the controller stops its container")
            }
        }
    }
}

extension JobState: ExpressibleByArgument {}

/// The text table of `berth jobs list`.
struct JobTable {
    var jobs: [JobView]

    init(_ jobs: [JobView]) {
        self.jobs = jobs
    }

    var text: String {
        // A KEY column only when a job has a concurrency key.
        let keyed = jobs.contains { $0.spec.concurrencyKey != nil }
        var rows = [["ID", "JOB", "STATE", "REASON", "EXIT", "ATTEMPT", "SUBMITTED"] + (keyed ? ["KEY"] : [])]
        for job in jobs {
            rows.append(
                [
                    job.id, "\(job.project)/\(job.name)", job.state.rawValue, job.reason ?? "-", job.exitCode.map(String.init) ?? "-",
                    String(job.attempt), job.submittedAt.formatted(.iso8601),
                ] + (keyed ? [job.spec.concurrencyKey.map { TerminalText.escaped($0, keepingLines: false) } ?? "-"] : []))
        }
        return textTable(rows)
    }
}
