import BerthCore
import BerthHTTP
import BerthStore
import Foundation
import Logging

/// Sends jobs' completion webhooks: the deliveries the store recorded when the jobs ended (any
/// controller's, so one that stopped is carried on), each a signed POST of the job's answer,
/// retried with backoff until a 2xx answer or the configured bound. At least once: a delivery
/// whose answer came but could not be recorded is sent again, with the same delivery id.
public actor WebhookDispatcher {
    /// The job's answer as the API serves it (literal env values hidden): the request's body.
    public typealias Body = @Sendable (JobRecord) throws -> [UInt8]

    private let store: any JobQueue & JobDeliveryLog
    private let http: CurlClient
    private let body: Body
    private let configuration: WebhookConfiguration
    private let logger: Logger
    private let wakeUps = WakeUpSignal()
    private let clock = ContinuousClock()

    public init(
        store: any JobQueue & JobDeliveryLog, body: @escaping Body, configuration: WebhookConfiguration = WebhookConfiguration(),
        http: CurlClient = CurlClient(name: "berth-webhooks"), logger: Logger = Logger(label: "berth.webhooks")
    ) {
        self.store = store
        self.body = body
        self.configuration = configuration
        self.http = http
        self.logger = logger
    }

    /// A job ended here: its delivery is due now.
    public nonisolated func jobEnded() {
        wakeUps.fire(.store)
    }

    /// Runs until cancelled.
    public func run() async {
        while !Task.isCancelled {
            let sent = await deliverDue()
            // A full batch may have more behind it.
            if sent == configuration.concurrency { continue }
            var wait = configuration.pollInterval
            if let due = try? await store.nextDeliveryDue() {
                let until = Duration.milliseconds(max(0, Int64(due.timeIntervalSinceNow * 1000)))
                wait = min(wait, until)
            }
            _ = await wakeUps.wait(until: clock.now + wait)
        }
    }

    /// Sends the due deliveries, up to `concurrency` at once; returns how many it took.
    private func deliverDue() async -> Int {
        let hold = TimeSpan(milliseconds: configuration.timeout.milliseconds + 30_000)
        let due: [JobDelivery]
        do {
            due = try await store.claimDueDeliveries(limit: configuration.concurrency, hold: hold)
        } catch {
            logger.error("cannot read the webhook deliveries due: \(error)")
            return 0
        }
        await withTaskGroup(of: Void.self) { group in
            for delivery in due {
                group.addTask { await self.deliver(delivery) }
            }
        }
        return due.count
    }

    /// One attempt, and its record.
    private func deliver(_ delivery: JobDelivery) async {
        let result = await attempt(delivery)
        let now = Date()
        var record: DeliveryAttempt
        if result.delivered {
            record = DeliveryAttempt(outcome: .delivered, status: result.status)
        } else if let retry = configuration.retryTime(afterAttempts: delivery.attempts + 1, createdAt: delivery.createdAt, now: now) {
            record = DeliveryAttempt(outcome: .pending, status: result.status, error: result.error, nextAttemptAt: retry)
        } else {
            record = DeliveryAttempt(outcome: .failed, status: result.status, error: result.error)
        }
        if result.final { record = DeliveryAttempt(outcome: .failed, status: result.status, error: result.error) }
        let metadata: Logger.Metadata = ["berth.job": "\(delivery.jobID)", "berth.delivery": "\(delivery.id)"]
        switch record.outcome {
        case .delivered:
            logger.debug("webhook delivered", metadata: metadata)
        case .pending:
            logger.debug("webhook attempt \(delivery.attempts + 1) failed: \(result.error ?? "HTTP \(result.status ?? 0)"); retried", metadata: metadata)
        case .failed:
            logger.warning("webhook to \(delivery.url) given up after \(delivery.attempts + 1) attempts: \(result.error ?? "HTTP \(result.status ?? 0)")", metadata: metadata)
        }
        do {
            try await store.recordDeliveryAttempt(delivery.id, record, now: now)
        } catch {
            // Left pending: sent again once its hold runs out (at least once).
            logger.error("cannot record webhook delivery \(delivery.id): \(error)", metadata: metadata)
        }
    }

    private struct AttemptResult {
        var delivered = false
        var status: Int?
        var error: String?
        /// Nothing a retry could change (the job or its webhook is gone).
        var final = false
    }

    private func attempt(_ delivery: JobDelivery) async -> AttemptResult {
        let job: JobRecord
        do {
            guard let found = try await store.job(delivery.jobID) else { return AttemptResult(error: "the job was deleted", final: true) }
            job = found
        } catch {
            return AttemptResult(error: "cannot read the job: \(error)")
        }
        guard let notify = job.spec.notify else { return AttemptResult(error: "the job has no webhook", final: true) }
        let secret: [UInt8]
        do {
            secret = WebhookSignature.key(fromFile: try Data(contentsOf: URL(fileURLWithPath: notify.secretFile)))
        } catch {
            return AttemptResult(error: "cannot read the secret file \(notify.secretFile): \((error as NSError).localizedDescription)")
        }
        guard !secret.isEmpty else { return AttemptResult(error: "the secret file \(notify.secretFile) is empty") }
        let payload: [UInt8]
        do {
            payload = try body(job)
        } catch {
            return AttemptResult(error: "cannot write the job's answer: \(error)", final: true)
        }
        let request = HTTPRequest(
            method: "POST", url: delivery.url,
            headers: [
                ("Content-Type", "application/json"),
                ("User-Agent", "berth-webhook"),
                ("X-Berth-Event", delivery.event.rawValue),
                ("X-Berth-Delivery", delivery.id),
                ("X-Berth-Signature", WebhookSignature.header(body: payload, secret: secret)),
            ],
            body: payload, timeout: .milliseconds(configuration.timeout.milliseconds)
        )
        do {
            let response = try await http.send(request)
            return AttemptResult(delivered: (200..<300).contains(response.status), status: response.status, error: (200..<300).contains(response.status) ? nil : "HTTP \(response.status)")
        } catch let error as HTTPError {
            return AttemptResult(error: error.message)
        } catch {
            return AttemptResult(error: "\(error)")
        }
    }
}
