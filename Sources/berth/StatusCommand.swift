import ArgumentParser
import BerthAPI
import BerthController
import BerthCore
import BerthStore
import Foundation
import Logging

/// `berth status`: the git source, and what the controller last recorded for every resource.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the git source (when Berth follows one), then every resource's phase, ready replicas, restarts, last action and conditions."
    )

    @OptionGroup var controller: ControllerOptions
    @OptionGroup var manifests: ManifestOptions
    @Option(help: "Only this project.") var project: String?
    @Flag(help: "Print the statuses as JSON.") var json = false

    func run() async throws {
        controller.bootstrapLogging(fallback: .warning)
        let answer = try await controller.withClient { client in try await client.statuses(project: project, manifests: manifests) }
        if json {
            try printJSON(answer)
            return
        }
        if let source = answer.source { print(SourceLine.text(source, now: Date()) + "\n") }
        if let warning = Self.staleness(answer) { print(warning) }
        print(answer.items.isEmpty ? "No status recorded yet: run `berth apply` or `berth serve`." : StatusTable(answer.items).text)
        if !answer.cronJobs.isEmpty { print("\n" + CronTable(answer.cronJobs).text) }
    }

    /// The lines that say the server's controller runs on a stale desired state or holds writes
    /// for the store; nil when all is well.
    static func staleness(_ answer: StatusListView) -> String? {
        var lines: [String] = []
        if let report = answer.controller {
            if let since = report.desiredStateStaleSince {
                lines.append(
                    "Desired state stale since \(since.formatted(.iso8601)): the controller converges the manifests and the store's resources it read last (\(report.desiredStateStaleReason ?? "the store cannot be read"))."
                )
            }
            if report.pendingStoreWrites > 0 { lines.append("\(report.pendingStoreWrites) status and event writes wait for the store.") }
            if report.droppedStoreWrites > 0 { lines.append("\(report.droppedStoreWrites) status and event writes were dropped while the store was away.") }
        }
        return lines.isEmpty ? nil : lines.joined(separator: "\n") + "\n"
    }
}

/// The text table of `berth status`: one row per resource, then the message of each that is not ready.
struct StatusTable {
    var statuses: [ResourceStatus]

    init(_ statuses: [ResourceStatus]) {
        self.statuses = statuses
    }

    var text: String {
        // The revision column only when the desired state comes from git.
        let revisions = statuses.contains { $0.attemptedRevision != nil || $0.appliedRevision != nil }
        var rows = [["RESOURCE", "PHASE", "READY", "RESTARTS"] + (revisions ? ["REVISION"] : []) + ["LAST ACTION"]]
        for status in statuses {
            let ready = status.desiredReplicas.map { "\(status.readyReplicas ?? 0)/\($0)" } ?? "-"
            let last = status.lastAction.map { action in status.lastCause.map { "\(action) (\($0))" } ?? action } ?? "-"
            let revision = revisions ? [Self.revision(status)] : []
            rows.append([status.id.description, status.phase.rawValue, ready, String(status.restartCount)] + revision + [last])
        }
        var lines = [textTable(rows)]
        // How to reach each service replica: its node (when nodes placed them), its networks and
        // addresses, its published ports.
        let replicas = statuses.flatMap { status in (status.replicas ?? []).map { (status.id, $0) } }
        let nodes = replicas.contains { $0.1.node != nil }
        if nodes || replicas.contains(where: { !$0.1.reachability.isEmpty }) {
            var reach = [["REPLICA", "STATE"] + (nodes ? ["NODE"] : []) + ["NETWORKS AND PORTS"]]
            for (_, replica) in replicas {
                reach.append([replica.container, replica.state] + (nodes ? [replica.node ?? "-"] : []) + [replica.reachability.isEmpty ? "-" : replica.reachability])
            }
            lines.append("")
            lines.append(textTable(reach))
        }
        // Why each resource is not ready; for certificates also until when they are valid.
        var reasons: [String] = []
        for status in statuses where status.phase != .ready || status.id.kind == .certificate {
            guard let condition = status.condition(.ready), !condition.message.isEmpty else { continue }
            var line = "\(status.id): \(condition.reason): \(condition.message)"
            if status.phase != .ready, let next = status.nextAttemptAt { line += " (next attempt \(next.formatted(.iso8601)))" }
            reasons.append(line)
        }
        // Set apart from the replica table by a blank line; nothing trails the last line.
        if lines.count > 1, !reasons.isEmpty { lines.append("") }
        return (lines + reasons).joined(separator: "\n")
    }

    /// The revision the resource became ready at, and the one it is converged toward when that
    /// is another: `1a2b3c4`, `1a2b3c4 -> 5d6e7f8`, `- -> 5d6e7f8`.
    static func revision(_ status: ResourceStatus) -> String {
        let applied = status.appliedRevision?.shortSHA ?? "-"
        guard let attempted = status.attemptedRevision, attempted.sha != status.appliedRevision?.sha else { return applied }
        return "\(applied) -> \(attempted.shortSHA)"
    }
}

/// The CronJobs' part of `berth status`: schedule, last scheduled time, last run and its result,
/// next fire time.
struct CronTable {
    var cronJobs: [CronJobStatus]

    init(_ cronJobs: [CronJobStatus]) {
        self.cronJobs = cronJobs
    }

    var text: String {
        var rows = [["CRONJOB", "SCHEDULE", "POLICY", "LAST SCHEDULED", "LAST RUN", "RESULT", "NEXT"]]
        for cron in cronJobs {
            let result = cron.lastRun.map { run in
                [run.state.rawValue, run.reason, run.exitCode.map { "exit \($0)" }].compactMap { $0 }.joined(separator: ", ")
            }
            rows.append([
                cron.cronJob.description, "\(cron.schedule) (\(cron.timeZone))", cron.concurrencyPolicy.rawValue,
                cron.lastScheduleTime?.formatted(.iso8601) ?? "-", cron.lastRun?.jobID ?? "-", result ?? "-",
                cron.suspend ? "suspended" : cron.nextFireTime?.formatted(.iso8601) ?? "never",
            ])
        }
        return textTable(rows)
    }
}
