import ArgumentParser
import BerthController
import BerthCore
import Logging
import BerthStore
import Foundation

/// `berth apply`: one converge pass, and with `--wait` more passes until every service is ready.
/// Resources that cannot be converged at all (a failed action, buckets without an endpoint) make
/// it fail after the rest has converged.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Converge the engine to the desired state once, printing each step as it happens.",
        discussion: """
            Exit status: 0 when every action succeeded (with --wait: and every service is ready), \
            1 on invalid input, an unreachable engine, a failed action or a bucket without a usable S3 \
            endpoint (the rest is converged first), 3 when --wait ran out of time.
            """
    )

    @OptionGroup var manifests: ManifestOptions
    @OptionGroup var controller: ControllerOptions
    @OptionGroup var objectStorage: ObjectStorageOptions
    @OptionGroup var age: AgeOptions
    @Option(help: "Converge the replicas placed on this node (berth nodes lists them). Needed when the store has several nodes.") var node: String?
    @Flag(help: "Wait until every service runs and is healthy.") var wait = false
    @Option(help: "How long --wait waits, e.g. 90s or 5m.") var timeout: String = "5m"

    /// Waiting ran out of time.
    static let timedOut = ExitCode(3)

    func run() async throws {
        controller.bootstrapLogging(fallback: .error)
        let limit = try parseSpan(timeout, option: "--timeout")
        let options = ReconcilerOptions(environment: try age.environmentResolver())
        let deadline = Date().addingTimeInterval(limit.seconds)
        // Three things at once: the manifests are read, the engine is observed, the store opens.
        let manifestLoading = manifests.startLoading()
        let runtime = try controller.openRuntime()
        let observation = controller.startObserving(runtime)
        defer { observation.cancel() }
        let outcome = try await controller.withStore { store in
            let snapshot = try await manifestLoading.snapshot(store: store)
            let replicas = NodeReplicas(placement: try await LocalClient.replicas(ofNode: node, store: store))
            let reconciler = Reconciler(runtime: runtime, objectStorage: try objectStorage.open(), store: store, adoptions: store, options: options)
            var firstObservation: Task<ObservedState, any Error>? = observation
            let printer = ProgressPrinter()
            var changes = 0
            var certificatesDone = false
            while true {
                let result: PassResult
                do {
                    // The first pass plans from the observation made meanwhile; later ones observe anew.
                    let observed = try await firstObservation?.value
                    firstObservation = nil
                    result = try await reconciler.reconcile(snapshot, observed: observed, replicas: replicas, progress: printer.handle)
                    try await reconciler.flushStoreWrites()
                } catch {
                    throw CommandFailure("\(error)")
                }
                changes += result.report.changeCount
                for warning in result.plan.warnings { print(warning) }
                var failures = result.report.failures
                if !certificatesDone {
                    // After the first pass, so the volumes certificates are written into exist.
                    let certificates = try await controller.certificateManager(store: store).converge(snapshot.state)
                    for (id, reason) in certificates.issued.sorted(by: { $0.key < $1.key }) { print("issued certificate \(id) (\(reason))") }
                    changes += certificates.issued.count
                    failures.merge(certificates.failures) { first, _ in first }
                    certificatesDone = true
                }
                for status in result.statuses where status.phase == .failed && failures[status.id] == nil {
                    failures[status.id] = status.condition(.ready)?.message ?? "failed"
                }
                if !failures.isEmpty {
                    return Outcome.failed(failures.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }, result.statuses)
                }
                if !wait || result.converged { return Outcome.done(changes, result.statuses) }
                if Date() >= deadline { return Outcome.timedOut(result.statuses) }
                let backoffEnds = result.nextWakeUp.map { result.time.instant(of: $0) } ?? .now + .seconds(1)
                let next = min(backoffEnds, .now + .seconds(1), .now + .milliseconds(Int64(max(0, deadline.timeIntervalSinceNow) * 1000)))
                try await Task.sleep(until: max(next, .now + .milliseconds(50)), clock: .continuous)
            }
        }
        switch outcome {
        case .done(let changes, let statuses):
            let ready = statuses.filter { $0.phase == .ready }.count
            print(changes == 0 ? "No changes." : "Applied \(changes) change\(changes == 1 ? "" : "s").", "\(ready)/\(statuses.count) resources ready.")
        case .failed(let messages, let statuses):
            print(StatusTable(statuses.filter { $0.phase != .ready }).text)
            var standardError = StandardError()
            for message in messages { print("error: \(message)", to: &standardError) }
            throw ExitStatus.failure
        case .timedOut(let statuses):
            print(StatusTable(statuses.filter { $0.phase != .ready }).text)
            var standardError = StandardError()
            print("error: not every service was ready after \(limit)", to: &standardError)
            throw Self.timedOut
        }
    }

    private enum Outcome {
        case done(Int, [ResourceStatus])
        case failed([String], [ResourceStatus])
        case timedOut([ResourceStatus])
    }
}
