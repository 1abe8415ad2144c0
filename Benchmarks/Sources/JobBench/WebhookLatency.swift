import BerthController
import BerthCore
import BerthDocker
import BerthStore
import Foundation
import Glibc
import Synchronization

// Webhook delivery latency (issue 20): trivial jobs with a `notify` to a receiver on 127.0.0.1,
// run by a `JobRunner` whose `WebhookDispatcher` sends their deliveries; from each job's recorded
// `finishedAt` to the receiver reading the request.

/// A minimal HTTP receiver on 127.0.0.1 that answers 204 and notes when each delivery arrived.
final class LatencyReceiver: Sendable {
    let port: Int
    private let listener: Int32
    /// Delivery id (`X-Berth-Delivery`) → arrival.
    private let arrivals = Mutex<[String: Date]>([:])
    let recorder: Recorder

    init(recorder: Recorder) {
        self.recorder = recorder
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard socket >= 0, bound == 0, listen(socket, 64) == 0 else { fail("webhook receiver: cannot listen (\(errno))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        listener = socket
        Thread.detachNewThread { self.serve() }
    }

    func arrival(of delivery: String) -> Date? { arrivals.withLock { $0[delivery] } }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            var head: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65536)
            // The headers are enough: the delivery id is there (the body is read and dropped).
            while !head.suffix(4).elementsEqual([13, 10, 13, 10]) && head.count < 1 << 20 {
                let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, 1, 0) }
                guard count > 0 else { break }
                head.append(chunk[0])
            }
            let arrived = Date()
            let text = String(decoding: head, as: UTF8.self)
            let delivery = text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("x-berth-delivery:") }
                .map { $0.dropFirst("x-berth-delivery:".count).trimmingCharacters(in: .whitespaces) }
            let length =
                text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            var left = length
            while left > 0 {
                let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, min(left, $0.count), 0) }
                guard count > 0 else { break }
                left -= count
            }
            let reply = Array("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".utf8)
            _ = reply.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(connection)
            if let delivery {
                arrivals.withLock { $0[delivery] = $0[delivery] ?? arrived }
                recorder.progress.add(1, ordering: .relaxed)
            }
        }
    }
}

/// Runs `count` jobs with a webhook on `store` (four at a time, as submitted together) and returns
/// each one's latency from `finishedAt` to the receiver, in seconds.
func webhookLatencies(store: any Store, name: String, count: Int, recorder: Recorder) async throws -> [Double] {
    let receiver = LatencyReceiver(recorder: recorder)
    defer { receiver.stop() }
    let secret = "\(workDirectory)/webhook-\(name).key"
    try "bench-secret\n".write(toFile: secret, atomically: true, encoding: .utf8)
    // The body: the job's id and state (the API's full answer is written by BerthAPI's JSONWriter,
    // which this package does not build).
    let webhooks = WebhookDispatcher(
        store: store, body: { job in Array(#"{"id":"\#(job.id)","state":"\#(job.state.rawValue)"}"#.utf8) },
        configuration: WebhookConfiguration(firstRetry: .milliseconds(200))
    )
    let configuration = JobRunnerConfiguration(identity: "jobbench-webhooks-\(name.lowercased())", maxConcurrentJobs: concurrency, pollInterval: .seconds(2))
    let runner = JobRunner(runtime: engine, store: store, configuration: configuration, completion: JobCompletion(webhooks: webhooks))
    let task = Task {
        await runner.updateDesired(DesiredState())
        await runner.run()
    }
    defer { task.cancel() }
    var notified = spec
    notified.notify = JobNotifySpec(url: "http://127.0.0.1:\(receiver.port)/hook", secretFile: secret, events: [.finished])
    var ids: [String] = []
    for index in 0..<count {
        ids.append(try await store.submitJob(JobSubmission(project: "webhooks-\(name.lowercased())", name: "hooked-\(index)", spec: notified), now: Date()).job.id)
    }
    var latencies: [Double] = []
    for id in ids {
        let delivery = JobDelivery.id(jobID: id, event: .finished)
        while receiver.arrival(of: delivery) == nil { try await Task.sleep(for: .milliseconds(20)) }
        guard let job = try await store.job(id), let finished = job.finishedAt, let arrived = receiver.arrival(of: delivery) else { fail("\(name): job \(id) has no end") }
        latencies.append(arrived.timeIntervalSince(finished))
    }
    return latencies
}

/// Part 5 (issue 20): `webhookJobs` jobs with a completion webhook per store; the delivery
/// latency from each job's recorded end to the receiver, as a markdown table.
func webhookPart(_ queues: [Queue]) async throws -> String {
    var lines = [
        "### Webhook delivery latency: from the job's recorded end (`finishedAt`) to the receiver\n",
        "| store | jobs | p50 | p99 | max |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for queue in queues {
        note("webhooks: \(queue.name), \(webhookJobs) jobs")
        let latencies = try await webhookLatencies(store: queue.store, name: queue.name, count: webhookJobs, recorder: track(Recorder()))
        lines.append("| \(queue.name) | \(latencies.count) | \(ms(percentile(latencies, 50))) | \(ms(percentile(latencies, 99))) | \(ms(latencies.max() ?? .nan)) |")
    }
    return lines.joined(separator: "\n")
}
