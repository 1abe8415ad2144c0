import ArgumentParser
import BerthController
import BerthCore
import Logging
import BerthDocker
import ServiceLifecycle
import UnixSignals

/// `berth serve`: the controller loop, until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the controller: converge continuously, self-heal, reload manifests on change or SIGHUP."
    )

    @OptionGroup var manifests: ManifestOptions
    @OptionGroup var controller: ControllerOptions
    @Option(help: "Resync at least this often, e.g. 30s.") var resync: String = "30s"
    @Option(help: "Actions run at once.") var concurrency: Int = 8

    func run() async throws {
        controller.bootstrapLogging(fallback: .info)
        let interval: TimeSpan
        do {
            interval = try TimeSpan(parsing: resync)
        } catch {
            throw ArgumentParser.ValidationError("--resync: \(error)")
        }
        let logger = Logger(label: "berth.controller")
        try await controller.withStore { store in
            let runtime = try controller.openRuntime()
            let reconciler = Reconciler(runtime: runtime, store: store, options: ReconcilerOptions(concurrency: concurrency), logger: logger)
            let service = Controller(
                source: manifests.source(store: store), runtime: runtime, store: store, reconciler: reconciler,
                configuration: ControllerConfiguration(resyncInterval: .milliseconds(interval.milliseconds)), logger: logger
            )
            logger.info("serving: manifests \(manifests.resolvedPaths.joined(separator: ", ")), engine \(runtime.client.endpoint)")
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: [.init(service: service)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger
            ))
            try await group.run()
        }
    }
}
