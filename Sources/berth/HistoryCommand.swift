import ArgumentParser
import BerthStore
import Foundation
import Logging

/// `berth history`: the git source's revisions and what became of each, the last attempted first.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List the git source's revisions: outcome, subject, author, and when each was attempted, applied, healthy or failed.",
        discussion: "Outcomes: invalid and refused (nothing applied), applying, healthy, failed (rolled back when ROLLED BACK TO names a revision), superseded."
    )

    @OptionGroup var controller: ControllerOptions
    @Option(help: "At most this many revisions (1 to 1000).") var limit: Int = 20
    @Flag(help: "Print the revisions as JSON.") var json = false

    func run() async throws {
        controller.bootstrapLogging(fallback: .warning)
        guard (1...1000).contains(limit) else { throw ValidationError("--limit is from 1 to 1000, found \(limit)") }
        let revisions = try await controller.withClient { client in try await client.sourceHistory(limit: limit) }
        if json {
            try printJSON(revisions)
            return
        }
        guard !revisions.isEmpty else {
            print("No revision recorded yet: berth serve records them once it follows a git source (--git-url).")
            return
        }
        print(Self.table(revisions))
    }

    /// One row per revision; times in ISO 8601, `-` for what did not happen. Subjects and authors
    /// come from the repository: escaped.
    static func table(_ revisions: [SourceRevisionRecord]) -> String {
        let time = { (date: Date?) in date.map { $0.formatted(.iso8601) } ?? "-" }
        var rows = [["REVISION", "OUTCOME", "SUBJECT", "AUTHOR", "ATTEMPTED", "APPLIED", "HEALTHY", "FAILED", "ROLLED BACK TO"]]
        for revision in revisions {
            rows.append([
                revision.shortSHA, revision.outcome.rawValue, TerminalText.escaped(revision.subject, keepingLines: false),
                TerminalText.escaped(revision.author, keepingLines: false), time(revision.attemptedAt), time(revision.appliedAt),
                time(revision.healthyAt), time(revision.failedAt), revision.rolledBackTo.map { String($0.prefix(7)) } ?? "-",
            ])
        }
        return textTable(rows)
    }
}
