import Foundation
import Glibc
import Synchronization

/// What one run of a command left behind.
public struct SubprocessOutput: Sendable {
    /// The exit status, or the signal's number when `killedBySignal`.
    public let status: Int32
    public let killedBySignal: Bool
    public let standardOutput: Data
    public let standardError: Data
    /// The command overran its timeout and was killed.
    public let timedOut: Bool

    public var succeeded: Bool { status == 0 && !killedBySignal && !timedOut }
    /// Standard output as text, without the trailing newline.
    public var text: String { String(decoding: standardOutput, as: UTF8.self).trimmingCharacters(in: .newlines) }
    public var errorText: String { String(decoding: standardError, as: UTF8.self) }
}

/// The command could not be started at all.
public struct SubprocessError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// Runs an executable directly (no shell), with its standard input closed or fed from memory,
/// both outputs captured and a deadline: a command that overruns it is killed with its whole
/// process group (Foundation starts each child as the leader of a group of its own, so helpers
/// it starts, such as git's ssh, go with it). Secrets go through standard input or the
/// environment, never the argument list.
public struct Subprocess: Sendable {
    public let executable: String
    /// The whole environment of the command; nil inherits this process's.
    public let environment: [String: String]?
    public let timeout: Duration

    public init(executable: String, environment: [String: String]?, timeout: Duration) {
        self.executable = executable
        self.environment = environment
        self.timeout = timeout
    }

    /// The executable `name` on `path` (colon-separated folders), or nil.
    public static func find(_ name: String, on path: String) -> String? {
        path.split(separator: ":").map { "\($0)/\(name)" }.first(where: FileManager.default.isExecutableFile(atPath:))
    }

    /// Runs the command on a thread of its own, so the caller's executor never blocks.
    public func run(_ arguments: [String], environment extra: [String: String] = [:], input: Data? = nil) async throws(SubprocessError) -> SubprocessOutput {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<SubprocessOutput, SubprocessError>, Never>) in
            Thread.detachNewThread {
                continuation.resume(returning: Result { () throws(SubprocessError) in try runBlocking(arguments, environment: extra, input: input) })
            }
        }
        return try result.get()
    }

    /// Runs the command and waits for it on the calling thread.
    public func runBlocking(_ arguments: [String], environment extra: [String: String] = [:], input: Data? = nil) throws(SubprocessError) -> SubprocessOutput {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = environment.merging(extra) { $1 }
        } else if !extra.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(extra) { $1 }
        }
        let inputPipe = input.map { _ in Pipe() }
        if let inputPipe { process.standardInput = inputPipe } else { process.standardInput = FileHandle.nullDevice }
        let outputPipe = Pipe(), errorPipe = Pipe()
        process.standardOutput = outputPipe
        process.standardError = errorPipe
        do {
            try process.run()
        } catch {
            throw SubprocessError(description: "cannot run \(executable): \(error.localizedDescription)")
        }
        let state = RunState(group: process.processIdentifier)
        let deadline = DispatchWorkItem { state.killIfRunning() }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout.timeInterval, execute: deadline)
        let readers = DispatchGroup()
        let errorReader = errorPipe.fileHandleForReading
        DispatchQueue.global().async(group: readers) { state.setError(errorReader.readDataToEndOfFile()) }
        if let input, let writer = inputPipe?.fileHandleForWriting {
            // A thread of its own: it blocks SIGPIPE for itself alone.
            readers.enter()
            Thread.detachNewThread {
                Self.writeAll(input, to: writer)
                readers.leave()
            }
        }
        let output = outputPipe.fileHandleForReading.readDataToEndOfFile()
        readers.wait()
        process.waitUntilExit()
        deadline.cancel()
        let timedOut = state.finish()
        return SubprocessOutput(
            status: process.terminationStatus, killedBySignal: process.terminationReason == .uncaughtSignal,
            standardOutput: output, standardError: state.errorData, timedOut: timedOut
        )
    }

    /// Writes `bytes` and closes the pipe. SIGPIPE (the command exited without reading all of
    /// it) is blocked on this thread, which ends right after, so the write only fails.
    private static func writeAll(_ bytes: Data, to handle: FileHandle) {
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = write(handle.fileDescriptor, base + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { break }
                offset += written
            }
        }
        try? handle.close()
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
            kill(group, SIGKILL)
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
    fileprivate var timeInterval: TimeInterval {
        TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}
