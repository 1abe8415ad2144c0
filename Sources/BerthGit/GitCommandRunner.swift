import Foundation
import Synchronization

/// What one git command left behind.
struct GitCommandOutput: Sendable {
    /// The exit status (or the signal's number when killed).
    let status: Int32
    let standardOutput: Data
    let standardError: String
    /// The command overran its timeout and was killed.
    let timedOut: Bool

    var succeeded: Bool { status == 0 && !timedOut }
    /// Standard output as text, without the trailing newline.
    var text: String {
        String(decoding: standardOutput, as: UTF8.self).trimmingCharacters(in: .newlines)
    }
}

/// Runs the git executable directly (no shell) with a fixed environment, standard input closed or
/// given, both outputs captured, and a deadline: a command that overruns it is killed with its
/// whole process group (Foundation starts each child as the leader of a group of its own, so
/// git's helpers such as ssh or git-remote-https go with it).
struct GitCommandRunner: Sendable {
    let executable: String
    let environment: [String: String]
    let timeout: Duration

    /// Runs git on a thread of its own, so the caller's executor never blocks.
    func run(_ arguments: [String], environment extra: [String: String] = [:], input: Data? = nil) async throws(GitError) -> GitCommandOutput {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<GitCommandOutput, GitError>, Never>) in
            DispatchQueue.global().async {
                continuation.resume(returning: Result { () throws(GitError) in try runBlocking(arguments, environment: extra, input: input) })
            }
        }
        return try result.get()
    }

    /// Runs git and waits for it on the calling thread; throws only when git cannot be started.
    func runBlocking(_ arguments: [String], environment extra: [String: String] = [:], input: Data? = nil) throws(GitError) -> GitCommandOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment.merging(extra) { $1 }
        let inputPipe = input.map { _ in Pipe() }
        if let inputPipe { process.standardInput = inputPipe } else { process.standardInput = FileHandle.nullDevice }
        let outputPipe = Pipe()
        let errorPipe = Pipe()
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        do {
            try process.run()
        } catch {
            throw .failed("could not start \(executable): \(error)")
        }
        let state = RunState(group: process.processIdentifier)
        let deadline = DispatchWorkItem { state.killIfRunning() }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout.timeInterval, execute: deadline)
        let readers = DispatchGroup()
        let errorReader = errorPipe.fileHandleForReading
        DispatchQueue.global().async(group: readers) { state.setError(errorReader.readDataToEndOfFile()) }
        if let input, let writer = inputPipe?.fileHandleForWriting {
            DispatchQueue.global().async(group: readers) {
                try? writer.write(contentsOf: input)
                try? writer.close()
            }
        }
        let output = outputPipe.fileHandleForReading.readDataToEndOfFile()
        readers.wait()
        process.waitUntilExit()
        deadline.cancel()
        let timedOut = state.finish()
        return GitCommandOutput(
            status: process.terminationStatus,
            standardOutput: output,
            standardError: String(decoding: state.errorData, as: UTF8.self),
            timedOut: timedOut
        )
    }
}

/// The deadline's view of a running command: kills its process group at most once, and never
/// after the command was reaped.
private final class RunState: Sendable {
    private enum Phase { case running, killed, finished }
    private let group: Int32
    private let phase = Mutex(Phase.running)
    private let error = Mutex(Data())

    init(group: Int32) { self.group = group }

    func killIfRunning() {
        phase.withLock { phase in
            guard phase == .running else { return }
            kill(-group, SIGKILL)
            phase = .killed
        }
    }

    /// Marks the command reaped; returns whether the deadline killed it.
    func finish() -> Bool {
        phase.withLock { phase in
            defer { phase = .finished }
            return phase == .killed
        }
    }

    func setError(_ data: Data) { error.withLock { $0 = data } }
    var errorData: Data { error.withLock { $0 } }
}

extension Duration {
    /// Seconds as a `TimeInterval`.
    var timeInterval: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}
