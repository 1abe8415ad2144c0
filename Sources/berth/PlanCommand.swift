import ArgumentParser
import BerthAPI
import BerthController
import BerthCore
import Foundation
import Logging

/// `berth plan`: what `apply` would do now, against the live engine, with the cause of each step.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change on the live engine, and why.",
        discussion: "Exit status: 0 when the plan is computed (with --detailed-exitcode: 0 no changes, 2 changes), 1 on error."
    )

    @OptionGroup var manifests: ManifestOptions
    @OptionGroup var controller: ControllerOptions
    @OptionGroup var objectStorage: ObjectStorageOptions
    @Flag(help: "Print the plan as JSON.") var json = false
    @Flag(help: "Exit 0 when nothing would change, 2 when something would, 1 on error.") var detailedExitcode = false

    func run() async throws {
        controller.bootstrapLogging(fallback: .error)
        if let client = try controller.apiClient() {
            // The server plans from its own manifests and store.
            let answer = try await client.raw("GET", "/v1/plan")
            let summary = try APIJSON.decoder().decode(PlanView.Summary.self, from: Data(answer.body))
            if json {
                try printJSONText(answer.body)
            } else {
                print(summary.text)
            }
            if detailedExitcode, summary.changes > 0 { throw ExitCode(2) }
            return
        }
        let runtime = try controller.openRuntime()
        let observation = controller.startObserving(runtime)
        defer { observation.cancel() }
        let plan = try await controller.withStore { store in
            let snapshot = try await manifests.loadSnapshot(store: store)
            do {
                let observed = try await observation.value
                return try await Reconciler(runtime: runtime, objectStorage: try objectStorage.open(), store: store).plan(snapshot.state, observed: observed)
            } catch let error as CommandFailure {
                throw error
            } catch {
                throw CommandFailure("\(error)")
            }
        }
        if json {
            try printJSON(PlanView(plan))
        } else {
            print(plan.description)
        }
        if detailedExitcode, !plan.isEmpty { throw ExitCode(2) }
    }
}
