import ArgumentParser
import BerthAPI
import BerthCore
import Foundation
import Logging

/// `berth events`: what happened and why, through the client the options choose; `--follow` keeps going.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show events (actions on resources, job transitions, progress), oldest first.",
        discussion: "With --follow, keeps printing new events until interrupted."
    )

    @OptionGroup var controller: ControllerOptions
    @Option(help: "Only this project.") var project: String?
    @Option(help: "Only this job's events.") var job: String?
    @Option(help: "Only events after this sequence number.") var after: Int64?
    @Option(help: "At most this many (per read).") var limit: Int = 100
    @Flag(help: "Keep printing new events.") var follow = false
    @Flag(help: "Print JSON (one object per line with --follow).") var json = false

    func run() async throws {
        controller.bootstrapLogging(fallback: .error)
        let filter = EventFilter(project: project, job: job, after: after, limit: limit)
        try await controller.withClient { client in try await client.events(filter, follow: follow, show: show) }
    }

    private func show(_ events: [EventView]) throws {
        if json {
            if follow {
                for event in events { print(String(decoding: try APIJSON.encoder().encode(event), as: UTF8.self)) }
                fflush(nil)
            } else {
                try printJSON(events)
            }
            return
        }
        for event in events {
            let subject = event.resource.map { "\($0)" } ?? event.jobID.map { "job \($0)" } ?? event.project
            print(
                "\(event.time.formatted(.iso8601))  \(event.type.padding(toLength: 7, withPad: " ", startingAt: 0)) \(event.reason.padding(toLength: 16, withPad: " ", startingAt: 0)) \(subject): \(TerminalText.escaped(event.message, keepingLines: false))"
            )
        }
        // A follower's reader (a pipe, a file) sees each event as it comes, not when a buffer fills.
        if follow { fflush(nil) }
    }
}
