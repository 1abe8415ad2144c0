import ArgumentParser
import BerthAPI
import BerthCore
import BerthStore
import Foundation
import Logging

/// `berth events`: what happened and why, from the store or through the API; `--follow` keeps going.
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
        if let client = try controller.apiClient() {
            var query = [("limit", String(limit))]
            if let project { query.append(("project", project)) }
            if let job { query.append(("job", job)) }
            if let after { query.append(("after", String(after))) }
            guard follow else {
                try show(try await client.call("GET", "/v1/events", query: query, as: ItemsView<EventView>.self).items)
                return
            }
            for try await event in try await client.events("/v1/events", query: query + [("follow", "true")]) {
                try show([try APIJSON.decoder().decode(EventView.self, from: Data(event.data.utf8))])
            }
            return
        }
        try await controller.withStore { store in
            var query = EventQuery(jobID: job, project: project, afterSequence: after, limit: limit)
            repeat {
                let events = try await store.events(query).map(EventView.init)
                try show(events)
                query.afterSequence = events.last?.sequence ?? query.afterSequence
                if follow, events.count < limit { try await Task.sleep(for: .milliseconds(500)) }
            } while follow
        }
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
            print("\(event.time.formatted(.iso8601))  \(event.type.padding(toLength: 7, withPad: " ", startingAt: 0)) \(event.reason.padding(toLength: 16, withPad: " ", startingAt: 0)) \(subject): \(TerminalText.escaped(event.message, keepingLines: false))")
        }
        // A follower's reader (a pipe, a file) sees each event as it comes, not when a buffer fills.
        if follow { fflush(nil) }
    }
}
