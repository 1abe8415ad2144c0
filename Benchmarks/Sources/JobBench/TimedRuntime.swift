import BerthCore
import BerthDocker
import Foundation

/// The engine as the runner sees it, every call forwarded and timed.
struct TimedRuntime: JobRuntime {
    let inner: DockerEngine
    let recorder: Recorder
    let project: String

    /// The job id in `berth-<project>-job-<id>` and `…-scratch`.
    func job(_ name: String) -> String? {
        let prefix = "berth-\(project)-job-"
        guard name.hasPrefix(prefix) else { return nil }
        let id = name.dropFirst(prefix.count)
        return String(id.hasSuffix("-scratch") ? id.dropLast("-scratch".count) : id)
    }

    /// Read once by the engine, not timed.
    func engineID() async throws(DockerError) -> String {
        try await inner.engineID()
    }

    func jobContainer(named name: String) async throws(DockerError) -> JobContainer? {
        let begin = ContinuousClock.now
        defer { recorder.record(job(name), "engine: inspect container", since: begin) }
        return try await inner.jobContainer(named: name)
    }

    func jobObjects() async throws(DockerError) -> (containers: [JobContainer], volumes: [String: [String: String]]) {
        let begin = ContinuousClock.now
        defer { recorder.record(nil, "engine: janitor listing", since: begin) }
        return try await inner.jobObjects()
    }

    func createJobContainer(_ target: JobContainerTarget, environment: [String: String]) async throws(DockerError) -> String {
        let begin = ContinuousClock.now
        defer { recorder.record(target.jobID, "engine: create volume + container", since: begin) }
        return try await inner.createJobContainer(target, environment: environment)
    }

    func startContainer(named name: String) async throws(DockerError) {
        let begin = ContinuousClock.now
        defer { recorder.record(job(name), "engine: start", since: begin) }
        try await inner.startContainer(named: name)
    }

    func waitForExit(named name: String) async throws(DockerError) -> Int {
        let begin = ContinuousClock.now
        defer { recorder.record(job(name), "engine: wait", since: begin) }
        return try await inner.waitForExit(named: name)
    }

    func stopContainer(named name: String, grace: TimeSpan) async throws(DockerError) {
        let begin = ContinuousClock.now
        defer { recorder.record(job(name), "engine: stop", since: begin) }
        try await inner.stopContainer(named: name, grace: grace)
    }

    func removeContainer(named name: String, grace: TimeSpan) async throws(DockerError) {
        let begin = ContinuousClock.now
        defer { recorder.record(job(name), "engine: remove container (stop + delete)", since: begin) }
        try await inner.removeContainer(named: name, grace: grace)
    }

    func removeVolume(named name: String) async throws(DockerError) {
        let begin = ContinuousClock.now
        let id = job(name)
        defer {
            recorder.record(id, "engine: remove volume", since: begin)
            if let id { recorder.finished(id) }
        }
        try await inner.removeVolume(named: name)
    }

    func logTails(named name: String, bytes: Int) async throws(DockerError) -> (stdout: String, stderr: String) {
        let begin = ContinuousClock.now
        defer { recorder.record(job(name), "engine: logs", since: begin) }
        return try await inner.logTails(named: name, bytes: bytes)
    }

    func readFile(named name: String, path: String, limit: Int) async throws(DockerError) -> BoundedFile? {
        let begin = ContinuousClock.now
        defer { recorder.record(job(name), "engine: read file", since: begin) }
        return try await inner.readFile(named: name, path: path, limit: limit)
    }

    func allLogFrames(named name: String) async throws(DockerError) -> AsyncThrowingStream<LogFrame, any Error> {
        let begin = ContinuousClock.now
        defer { recorder.record(job(name), "engine: all logs", since: begin) }
        return try await inner.allLogFrames(named: name)
    }

    func writeInputFiles(named name: String, files: [JobInputFile]) async throws(DockerError) {
        let begin = ContinuousClock.now
        defer { recorder.record(job(name), "engine: write input files", since: begin) }
        try await inner.writeInputFiles(named: name, files: files)
    }

    func ensureImage(_ image: ImageReference, policy: PullPolicy) async throws(DockerError) {
        let begin = ContinuousClock.now
        defer { recorder.record(nil, "engine: image check", since: begin) }
        try await inner.ensureImage(image, policy: policy)
    }
}
