import ArgumentParser
import BerthAPI
import BerthCore
import Foundation
import Logging

/// `berth cron …`: CronJobs on request; where each stands is in `berth status`.
struct CronCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cron",
        abstract: "Start a CronJob's run now.",
        subcommands: [Run.self]
    )

    /// `berth cron run NAME [--project P]`
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Start a CronJob's run now, keeping to its concurrencyPolicy; prints the job's id.",
            discussion: """
                Forbid refuses while a run of the CronJob is active; Replace cancels the active runs first; Allow starts \
                another. The schedule goes on as it stands. Without --server the CronJob is read from the manifests \
                (-f, as serve was given them) and the store. Exit status: 0 started, 1 refused or no such CronJob.
                """
        )

        @OptionGroup var controller: ControllerOptions
        @OptionGroup var manifests: ManifestOptions
        @Argument(help: "The CronJob's name.") var name: String
        @Option(help: "The CronJob's project.") var project: String = ResourceID.defaultProject
        @Flag(help: "Print the job as JSON.") var json = false

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let (job, created) = try await controller.withClient { client in try await client.runCronJob(project: project, name: name, manifests: manifests) }
            if json {
                try printJSON(job)
            } else {
                print(created ? "started \(job.id) (\(job.project)/\(job.name))" : "already started as \(job.id) by a request just before")
            }
        }
    }
}
