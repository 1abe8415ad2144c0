import BerthStore
import BerthCore
import Metrics
import Prometheus

/// The process's Prometheus registry behind swift-metrics: the controller's counters and timers,
/// the API's request metrics (`RequestMetricsMiddleware`), and job gauges refreshed from the
/// store at each scrape.
public struct APIMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// The registry every `APIMetrics` shares; swift-metrics is bootstrapped with it once per process.
    private static let shared: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// Bootstraps swift-metrics with the shared registry (only the first call does).
    public init() {
        registry = Self.shared
    }

    /// The Prometheus text, with job gauges read from the store now.
    func render(store: any JobQueue) async throws -> [UInt8] {
        let counts = try await store.jobCounts(project: nil)
        let jobs = MetricNameDescriptor(namespace: "berth", metricName: "jobs", unitName: "", helpText: "Pending and active jobs by state")
        for state in [JobState.pending, .queued, .started] {
            registry.makeGauge(descriptor: jobs, labels: [("state", state.rawValue)]).set(Double(counts[state] ?? 0))
        }
        let queueDepth = MetricNameDescriptor(namespace: "berth", metricName: "job_queue_depth", unitName: "", helpText: "Pending jobs waiting to be claimed")
        registry.makeGauge(descriptor: queueDepth).set(Double(counts[.pending] ?? 0))
        return registry.emitToBuffer()
    }
}
