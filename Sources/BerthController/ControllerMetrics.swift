import BerthCore
import BerthStore
import Foundation
import Metrics

/// The controller's metrics through swift-metrics (a no-op until a backend is bootstrapped;
/// `serve` bootstraps Prometheus): passes and their duration, actions by operation and outcome,
/// how long submitted jobs waited to be picked up, how stale the desired state is, and the store
/// writes waiting or dropped.
enum ControllerMetrics {
    /// Seconds since the desired state could last be read from the store; 0 when fresh.
    static func desiredStateStale(since: Date?, now: Date) {
        Gauge(label: "berth_desired_state_stale_seconds").record(since.map { max(0, now.timeIntervalSince($0)) } ?? 0)
    }

    static func storeWritesPending(_ count: Int) {
        Gauge(label: "berth_store_writes_pending").record(count)
    }

    static func storeWritesDropped(_ count: Int) {
        Counter(label: "berth_store_writes_dropped_total").increment(by: count)
    }

    static func pass(duration: Duration, succeeded: Bool) {
        Counter(label: "berth_passes_total", dimensions: [("outcome", succeeded ? "succeeded" : "failed")]).increment()
        Metrics.Timer(label: "berth_pass_duration_seconds").record(duration: duration)
    }

    static func actions(_ report: ExecutionReport) {
        for result in report.results {
            Counter(label: "berth_actions_total", dimensions: [("operation", result.action.operation.name), ("outcome", result.outcome.name)]).increment()
        }
    }

    /// A first attempt's wait from submit to claim.
    static func pickedUp(_ job: JobRecord, at now: Date) {
        guard job.attempt == 1 else { return }
        Metrics.Timer(label: "berth_job_pickup_seconds").recordNanoseconds(Int64(max(0, now.timeIntervalSince(job.submittedAt)) * 1e9))
    }
}

extension ActionOutcome {
    /// `succeeded`, `failed`, `notReady`, `skipped`: a metric label.
    var name: String {
        switch self {
        case .succeeded: "succeeded"
        case .failed: "failed"
        case .notReady: "notReady"
        case .skipped: "skipped"
        }
    }
}

extension BerthCore.Operation {
    /// `createContainer`, `removeVolume`…: a metric label.
    var name: String {
        switch self {
        case .createVolume: "createVolume"
        case .removeVolume: "removeVolume"
        case .createNetwork: "createNetwork"
        case .removeNetwork: "removeNetwork"
        case .connectContainer: "connectContainer"
        case .disconnectContainer: "disconnectContainer"
        case .createContainer: "createContainer"
        case .startContainer: "startContainer"
        case .restartContainer: "restartContainer"
        case .renameContainer: "renameContainer"
        case .removeContainer: "removeContainer"
        case .awaitReady: "awaitReady"
        case .createBucket: "createBucket"
        case .setBucketVersioning: "setBucketVersioning"
        case .setBucketLifecycle: "setBucketLifecycle"
        case .setBucketTags: "setBucketTags"
        case .removeBucket: "removeBucket"
        }
    }
}
