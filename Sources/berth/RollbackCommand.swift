import ArgumentParser
import BerthAPI
import BerthStore
import Foundation
import Logging

/// `berth rollback`: pins the git source to a revision that was healthy, until `--clear`.
struct RollbackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollback",
        abstract: "Pin the git source to a revision that was healthy (Berth applies it and stays there), or clear the pin.",
        discussion: """
            REV is a revision's sha or its first 7 or more hex digits (see berth history); it must have been healthy once. \
            Without REV, the newest revision that was healthy before the one applied now. --clear follows the ref again.
            """
    )

    @OptionGroup var controller: ControllerOptions
    @Argument(help: "The revision to pin (sha or unique prefix of 7+ hex digits).") var revision: String?
    @Flag(help: "Clear the pin: follow the ref again.") var clear = false
    @Flag(help: "Print the source after as JSON.") var json = false

    func validate() throws {
        if clear, revision != nil { throw ValidationError("give a revision to pin or --clear, not both") }
    }

    func run() async throws {
        controller.bootstrapLogging(fallback: .warning)
        let source = try await controller.withClient { client in
            var name: String?
            if !clear { name = try await target(client) }
            return try await client.pinRevision(name)
        }
        if json {
            try printJSON(source)
            return
        }
        print(source.pinned.map { "Pinned to \($0.prefix(7)): Berth applies it and stays there until berth rollback --clear." } ?? "Pin cleared: Berth follows the ref again.")
    }

    /// The revision asked for, else the newest healthy one before the one applied now.
    private func target(_ client: any BerthClient) async throws -> String {
        if let revision { return revision }
        let source = try await client.source()
        let history = try await client.sourceHistory(limit: 1000)
        let candidates = history.filter { $0.healthyAt != nil && $0.sha != source?.applied }
        guard let previous = candidates.first(where: { revision in source?.appliedRevision.map { revision.attemptedAt < $0.attemptedAt } ?? true }) else {
            throw CommandFailure("no healthy revision before the applied one in the history; name one (berth history)")
        }
        return previous.sha
    }
}
