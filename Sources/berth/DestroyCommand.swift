import ArgumentParser
import BerthController
import BerthCore
import BerthDocker
import BerthStore
import Logging
import Foundation

/// `berth destroy --project P`: removes a project's containers, and with `--volumes` its volumes
/// whose reclaim policy is Delete.
struct DestroyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract: "Remove a project's containers (and with --volumes, its volumes whose reclaimPolicy is Delete).",
        discussion: "Exit status: 0 when everything was removed, 1 otherwise."
    )

    @OptionGroup var manifests: ManifestOptions
    @OptionGroup var controller: ControllerOptions
    @Option(help: "The project to remove.") var project: String
    @Flag(help: "Also remove the project's volumes whose reclaimPolicy is Delete (Retain volumes are kept).") var volumes = false

    func run() async throws {
        controller.bootstrapLogging(fallback: .error)
        let failures = try await controller.withStore { store in
            if let snapshot = try? await manifests.source(store: store).load(), snapshot.state.referencedProjects.contains(project) {
                var standardError = StandardError()
                print("warning: project \(project) is still declared; `berth apply` or `berth serve` will create it again", to: &standardError)
            }
            var scope = DesiredState()
            scope.includeInScope([project])
            let runtime = try controller.openRuntime()
            let observed: ObservedState
            do throws(DockerError) {
                observed = try await runtime.observe()
            } catch {
                throw CommandFailure(error.message)
            }
            // Only this project is in scope, so every action removes one of its objects. Volume
            // removals come last and nothing waits for them: leaving them out keeps the ids valid.
            var kept = Planner.plan(desired: scope, observed: observed, now: Date())
            if !volumes {
                kept.actions.removeAll { if case .removeVolume = $0.operation { true } else { false } }
            }
            guard !kept.actions.isEmpty else {
                print("Nothing to remove in project \(project).")
                return [String]()
            }
            let report = await Executor(runtime: runtime, progress: ProgressPrinter().handle).execute(kept)
            for status in try await store.statuses(project: project) {
                try await store.deleteStatus(status.id, node: nil)
            }
            return report.failures.map { "\($0.key): \($0.value)" }.sorted()
        }
        guard failures.isEmpty else {
            var standardError = StandardError()
            for failure in failures { print("error: \(failure)", to: &standardError) }
            throw ExitStatus.failure
        }
    }
}
