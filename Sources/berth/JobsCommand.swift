import ArgumentParser
import BerthAPI
import BerthCore
import BerthDocker
import BerthManifests
import BerthStore
import Foundation
import Logging

/// `berth jobs …`: the job queue, through the API with `--server`, else directly in the store.
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
            let resources = try readDocuments(file)
            let jobs = resources.compactMap { resource -> (Resource, JobSpec)? in
                if case .job(let spec) = resource.spec { return (resource, spec) }
                return nil
            }
            guard !jobs.isEmpty else { throw CommandFailure("\(file): no kind: Job document found") }
            guard jobs.count == 1 || idempotencyKey == nil else {
                throw CommandFailure("--idempotency-key needs a file with exactly one Job document, found \(jobs.count)")
            }
            let views: [JobView]
            if let client = try controller.apiClient() {
                views = try await submit(jobs.map(\.0), through: client)
            } else {
                views = try await controller.withStore { store in
                    var records: [JobRecord] = []
                    for (resource, spec) in jobs {
                        let submission = JobSubmission(
                            project: resource.metadata.project, name: resource.metadata.name, spec: spec,
                            priority: priority, idempotencyKey: idempotencyKey
                        )
                        let (job, created) = try await store.submitJob(submission, now: Date())
                        report(JobView(job), created: created)
                        records.append(job)
                    }
                    guard wait else { return records.map { JobView($0) } }
                    return try await Self.awaitEnd(records.map(\.id), store).map { JobView($0) }
                }
            }
            if json { try printJSON(views) }
            if wait {
                if !json { print(JobTable(views).text) }
                if views.contains(where: { $0.state != .finished }) { throw ExitStatus.failure }
            }
        }

        private func report(_ job: JobView, created: Bool) {
            if !json { print(created ? "submitted \(job.id) (\(job.project)/\(job.name))" : "already submitted as \(job.id) (idempotency key)") }
        }

        /// One `POST /v1/jobs` per document, then (with --wait) polls each job until it ends.
        private func submit(_ resources: [Resource], through client: APIClient) async throws -> [JobView] {
            var views: [JobView] = []
            for var resource in resources {
                if let priority, case .job(var spec) = resource.spec {
                    spec.priority = priority
                    resource.spec = .job(spec)
                }
                let body = try ManifestRenderer.yaml([resource])
                let headers = idempotencyKey.map { [(name: "Idempotency-Key", value: $0)] } ?? []
                let answer = try await client.raw("POST", "/v1/jobs", body: Array(body.utf8), contentType: "application/yaml", headers: headers)
                let job = try APIJSON.decoder().decode(JobView.self, from: Data(answer.body))
                report(job, created: answer.status == 201)
                views.append(job)
            }
            guard wait else { return views }
            var ended: [JobView] = []
            for view in views {
                var job = view
                while !job.state.isTerminal {
                    try await Task.sleep(for: .milliseconds(200))
                    job = try await client.call("GET", "/v1/jobs/\(job.id)", as: JobView.self)
                }
                ended.append(job)
            }
            return ended
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
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List jobs, newest first.")

        @OptionGroup var controller: ControllerOptions
        @Option(help: "Only this project.") var project: String?
        @Option(help: "Only jobs in this state (repeatable): pending, queued, started, finished, failed, cancelled.") var state: [JobState] = []
        @Option(help: "At most this many.") var limit: Int = 50
        @Flag(help: "Print the jobs as JSON.") var json = false

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let jobs: [JobView]
            if let client = try controller.apiClient() {
                var query = [("limit", String(limit))] + state.map { ("state", $0.rawValue) }
                if let project { query.append(("project", project)) }
                jobs = try await client.call("GET", "/v1/jobs", query: query, as: ItemsView<JobView>.self).items
            } else {
                jobs = try await controller.withStore { store in
                    try await store.jobs(filter: JobFilter(project: project, states: Set(state)), page: PageRequest(limit: limit)).items.map { JobView($0) }
                }
            }
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

        @OptionGroup var controller: ControllerOptions
        @Argument(help: "The job id.") var id: String
        @Flag(help: "Print the job as JSON.") var json = false

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let job: JobView
            if let client = try controller.apiClient() {
                job = try await client.call("GET", "/v1/jobs/\(id)", as: JobView.self)
            } else {
                let (record, events) = try await controller.withStore { store in
                    (try await store.job(id), try await store.events(EventQuery(jobID: id, limit: 1000)))
                }
                guard let record else { throw CommandFailure("no job \(id)") }
                job = JobView(record, events: events)
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
            for (label, time) in [("submitted", job.submittedAt), ("queued", job.queuedAt), ("started", job.startedAt), ("finished", job.finishedAt), ("next try", job.nextAttemptAt)] {
                if let time { lines.append("\((label + ":").padding(toLength: 13, withPad: " ", startingAt: 0))\(time.formatted(.iso8601))") }
            }
            if let controller = job.claimedBy { lines.append("controller:  \(controller)") }
            if job.cancelRequested { lines.append("cancel:      requested") }
            if let feedback = job.feedback { lines.append("feedback:    \(feedback)") }
            if !events.isEmpty {
                lines.append("events:")
                lines += events.map { "  \($0.time.formatted(.iso8601))  \($0.reason.padding(toLength: 16, withPad: " ", startingAt: 0)) \(TerminalText.escaped($0.message, keepingLines: false))" }
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

        func validate() throws {
            if let tail, !(1...JobLogsView.maximumTail).contains(tail) {
                throw ArgumentParser.ValidationError("--tail is 1 to \(JobLogsView.maximumTail), found \(tail)")
            }
        }

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            var standardError = StandardError()
            if let client = try controller.apiClient() {
                let query = tail.map { [("tail", String($0))] } ?? []
                guard follow else {
                    let logs = try await client.call("GET", "/v1/jobs/\(id)/logs", query: query, as: JobLogsView.self)
                    printOutput(logs.stdout, logs.stderr)
                    return
                }
                for try await event in try await client.events("/v1/jobs/\(id)/logs", query: query + [("follow", "true")]) {
                    switch event.name {
                    case "stdout":
                        print(TerminalText.escaped(event.data, keepingLines: true))
                        fflush(nil)
                    case "stderr": print(TerminalText.escaped(event.data, keepingLines: true), to: &standardError)
                    case "dropped": throw CommandFailure(event.data)
                    case "end":
                        let job = try APIJSON.decoder().decode(JobView.self, from: Data(event.data.utf8))
                        guard job.state.isTerminal else { throw CommandFailure("the server ended the stream while job \(id) was \(job.state)") }
                        if job.state != .finished { throw ExitStatus.failure }
                        return
                    default: continue
                    }
                }
                throw CommandFailure("the stream of job \(id) closed before its end")
            }
            let job = try await controller.withStore { store in try await store.job(id) }
            guard let job else { throw CommandFailure("no job \(id)") }
            let name = ObjectName.jobContainer(project: job.project, jobID: job.id)
            let client = try controller.openRuntime().client
            if follow, job.state == .started, let frames = try? await client.followLogs(name, tail: tail) {
                for try await frame in frames {
                    let text = String(decoding: frame.bytes, as: UTF8.self)
                    if frame.stream == .stdout { printOutput(text, "") } else { printOutput("", text) }
                    fflush(nil)
                }
                return
            }
            if job.state.isActive || job.spec.ttlAfterFinished != nil, let logs = try? await client.logs(name, tail: tail) {
                printOutput(String(decoding: logs.stdout, as: UTF8.self), String(decoding: logs.stderr, as: UTF8.self))
                return
            }
            let stored = (stdout: job.stdoutTail ?? "", stderr: job.stderrTail ?? "")
            guard let tail else { return printOutput(stored.stdout, stored.stderr) }
            printOutput(JobLogsView.lastLines(stored.stdout, tail), JobLogsView.lastLines(stored.stderr, tail))
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
            let job: JobView
            if let client = try controller.apiClient() {
                job = try await client.call("POST", "/v1/jobs/\(id)/cancel", as: JobView.self)
            } else {
                job = try await controller.withStore { store in
                    do {
                        return JobView(try await store.requestCancel(id, now: Date()))
                    } catch let error as StoreError {
                        if error.code == .notFound { throw CommandFailure("no job \(id)") }
                        throw error
                    }
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

/// The text table of `berth jobs list`.
struct JobTable {
    var jobs: [JobView]

    init(_ jobs: [JobView]) {
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
