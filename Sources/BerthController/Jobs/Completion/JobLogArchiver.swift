import BerthCore
import BerthDocker
import BerthObjectStore
import BerthStore
import Foundation
import Logging

/// Writes an attempt's complete output to its `logArchive` bucket when the attempt ends: each
/// stream gzip-compressed as the engine sends it (never held uncompressed), one object per
/// stream (`<prefix><job id>/<attempt>/stdout.gz`, `…/stderr.gz`), recorded with the job.
/// Best effort: a failure is a warning event of the job, and the verdict is recorded regardless.
public struct JobLogArchiver: Sendable {
    private let storage: any ObjectStorage
    private let store: any JobDeliveryLog & EventLog
    private let logger: Logger

    public init(storage: any ObjectStorage, store: any JobDeliveryLog & EventLog, logger: Logger = Logger(label: "berth.jobs")) {
        self.storage = storage
        self.store = store
        self.logger = logger
    }

    /// Archives the output of `job`'s current attempt from container `container`.
    func archive(_ job: JobRecord, container: String, runtime: any JobRuntime, to spec: LogArchiveSpec) async {
        do {
            let archive = try await write(job, container: container, runtime: runtime, to: spec)
            try await store.recordLogArchive(archive)
        } catch {
            let message = "the output of attempt \(job.attempt) was not archived to bucket \(spec.bucket): \(error)"
            logger.warning("\(message)", metadata: ["berth.job": "\(job.id)"])
            _ = try? await store.appendEvent(EventRecord(jobID: job.id, project: job.project, type: .warning, reason: "LogArchiveFailed", message: message, time: Date()))
        }
    }

    private func write(_ job: JobRecord, container: String, runtime: any JobRuntime, to spec: LogArchiveSpec) async throws -> JobLogArchive {
        let stdout = try GzipStream(.compress), stderr = try GzipStream(.compress)
        var stdoutGzip: [UInt8] = [], stderrGzip: [UInt8] = []
        var stdoutBytes = 0, stderrBytes = 0
        for try await frame in try await runtime.allLogFrames(named: container) {
            if frame.stream == .stderr {
                stderrBytes += frame.bytes.count
                stderrGzip += try stderr.process(frame.bytes)
            } else {
                stdoutBytes += frame.bytes.count
                stdoutGzip += try stdout.process(frame.bytes)
            }
        }
        stdoutGzip += try stdout.finish()
        stderrGzip += try stderr.finish()
        let stdoutKey = spec.key(jobID: job.id, attempt: job.attempt, stream: "stdout")
        let stderrKey = spec.key(jobID: job.id, attempt: job.attempt, stream: "stderr")
        try await storage.putObject(spec.bucket, key: stdoutKey, body: stdoutGzip)
        try await storage.putObject(spec.bucket, key: stderrKey, body: stderrGzip)
        return JobLogArchive(
            jobID: job.id, attempt: job.attempt, bucket: spec.bucket, stdoutKey: stdoutKey, stderrKey: stderrKey,
            stdoutBytes: stdoutBytes, stderrBytes: stderrBytes, archivedAt: Date()
        )
    }
}
