import ArgumentParser

/// The `berth` command line.
@main
struct Berth: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "berth",
        abstract: "Declarative reconciler for Docker hosts: services, jobs, cron jobs, volumes, buckets and certificates.",
        version: BuildInfo.versionLine,
        subcommands: [
            ValidateCommand.self, RenderCommand.self, PlanCommand.self, ApplyCommand.self, ServeCommand.self,
            StatusCommand.self, HistoryCommand.self, RollbackCommand.self, DestroyCommand.self, JobsCommand.self, CronCommand.self, EventsCommand.self, ResourcesCommand.self,
            NodesCommand.self, TokenCommand.self, ImportCommand.self, SecretCommand.self, CompletionsCommand.self,
        ]
    )

    /// Reads `$BERTH_ENV_FILE` (`Settings`) before any command, then runs the command given.
    static func main() async {
        do {
            try Settings.load(nil)
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
