import ArgumentParser
import Logging

/// `berth plan`: what `apply` would do now, against the live engine, with the cause of each step.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show what apply would change on the live engine, and why.",
        discussion:
            "Exit status: 0 when the plan is computed (with --detailed-exitcode: 0 no changes, 2 changes, 1 also when a part of the observed state, such as the buckets' endpoint, could not be read), 1 on error."
    )

    @OptionGroup var manifests: ManifestOptions
    @OptionGroup var controller: ControllerOptions
    @OptionGroup var objectStorage: ObjectStorageOptions
    @Option(help: "Plan the replicas placed on this node (berth nodes lists them). Needed when the store has several nodes.") var node: String?
    @Flag(help: "Print the plan as JSON.") var json = false
    @Flag(help: "Exit 0 when nothing would change, 2 when something would, 1 on error or when a part of the state could not be read.") var detailedExitcode = false

    func run() async throws {
        controller.bootstrapLogging(fallback: .error)
        let plan = try await controller.withClient { client in try await client.plan(manifests: manifests, objectStorage: objectStorage, node: node) }
        print(json ? plan.json : plan.text)
        if detailedExitcode, !plan.unreadable.isEmpty {
            throw CommandFailure("the plan is incomplete: \(plan.unreadable.joined(separator: "; "))")
        }
        if detailedExitcode, plan.hasChanges { throw ExitCode(2) }
    }
}
