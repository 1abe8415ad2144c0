import Foundation
import Glibc
import Synchronization

/// Why `age` could not encrypt or decrypt: its own words (standard error), or why it did not run.
public struct AgeError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public var description: String { message }
}

/// Runs the `age` command (docs/architecture.md, "Encrypted values"): the input goes in through its
/// standard input and the result comes out of its standard output, so neither a plaintext nor a
/// ciphertext is ever written to disk or put in an argument list. Each run is bounded in time;
/// past it, `age` is killed.
public enum AgeTool {
    /// How long one run may take: a plugin identity (a hardware key) may wait for a touch.
    public static let timeout: Duration = .seconds(30)

    /// The plaintext of `armored`, decrypted with the identities in `identityFile`.
    public static func decrypt(_ armored: String, identityFile: String, timeout: Duration = timeout) async throws(AgeError) -> [UInt8] {
        try await run(["--decrypt", "--identity", identityFile], input: Array(armored.utf8), timeout: timeout)
    }

    /// `plaintext` encrypted to the recipients (public keys) and the recipients files, armored.
    public static func encrypt(
        _ plaintext: [UInt8], recipients: [String], recipientsFiles: [String], timeout: Duration = timeout
    ) async throws(AgeError) -> String {
        let arguments = ["--encrypt", "--armor"] + recipients.flatMap { ["--recipient", $0] } + recipientsFiles.flatMap { ["--recipients-file", $0] }
        return String(decoding: try await run(arguments, input: plaintext, timeout: timeout), as: UTF8.self)
    }

    /// `age` found on `PATH`.
    static func executable() throws(AgeError) -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        guard let found = path.split(separator: ":").map({ "\($0)/age" }).first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw AgeError(message: "the age command is not installed (no age on PATH); install the age package")
        }
        return found
    }

    /// What `age` printed on standard output after reading `input`, or its standard error when it
    /// failed. Blocking reads and writes happen on threads of their own, never the caller's.
    private static func run(_ arguments: [String], input: [UInt8], timeout: Duration) async throws(AgeError) -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try executable())
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let outcome = await withCheckedContinuation { (done: CheckedContinuation<Result<[UInt8], AgeError>, Never>) in
            let run = AgeRun(process: process, done: done)
            process.terminationHandler = { _ in run.finished(.exited) }
            do {
                try process.run()
            } catch {
                try? stdin.fileHandleForWriting.close()
                done.resume(returning: .failure(AgeError(message: "cannot run age: \(error.localizedDescription)")))
                return
            }
            Thread.detachNewThread { writeAll(input, to: stdin.fileHandleForWriting) }
            Thread.detachNewThread { run.finished(.output(stdout.fileHandleForReading.readDataToEndOfFile())) }
            Thread.detachNewThread { run.finished(.errors(stderr.fileHandleForReading.readDataToEndOfFile())) }
            let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { run.expire(after: timeout) }
        }
        return try outcome.get()
    }

    /// Writes `bytes` and closes the pipe. SIGPIPE (age exited without reading, e.g. on a missing
    /// identity file) is blocked on this thread, which ends right after, so the write only fails.
    private static func writeAll(_ bytes: [UInt8], to handle: FileHandle) {
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(handle.fileDescriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { break }
                offset += written
            }
        }
        try? handle.close()
    }
}

/// One run of `age` until it has exited and both its outputs are read, or its time is up.
/// Unchecked: `process` is only asked for its identifier and, once it has exited, how it ended.
private final class AgeRun: @unchecked Sendable {
    enum Event {
        case exited
        case output(Data)
        case errors(Data)
    }

    private struct State {
        var exited = false
        var output: Data?
        var errors: Data?
        var expired: Duration?
        var resumed = false
    }

    private let process: Process
    private let done: CheckedContinuation<Result<[UInt8], AgeError>, Never>
    private let state = Mutex(State())

    init(process: Process, done: CheckedContinuation<Result<[UInt8], AgeError>, Never>) {
        self.process = process
        self.done = done
    }

    func finished(_ event: Event) {
        let result: Result<[UInt8], AgeError>? = state.withLock { state in
            switch event {
            case .exited: state.exited = true
            case .output(let data): state.output = data
            case .errors(let data): state.errors = data
            }
            guard state.exited, let output = state.output, let errors = state.errors, !state.resumed else { return nil }
            state.resumed = true
            if let expired = state.expired { return .failure(AgeError(message: "age did not finish within \(expired) and was stopped")) }
            guard process.terminationReason == .exit, process.terminationStatus == 0 else { return .failure(AgeError(message: Self.explain(errors, process))) }
            return .success(Array(output))
        }
        if let result { done.resume(returning: result) }
    }

    /// Kills `age` when it is still running once its time is up.
    func expire(after timeout: Duration) {
        let running = state.withLock { state in
            guard !state.exited else { return false }
            state.expired = timeout
            return true
        }
        if running { kill(process.processIdentifier, SIGKILL) }
    }

    /// age's own error lines without its `age: error:` prefixes and its closing "report unexpected
    /// errors" line, or how it ended.
    private static func explain(_ errors: Data, _ process: Process) -> String {
        let lines = String(decoding: errors, as: UTF8.self).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.contains("report unexpected or unhelpful errors") }
            .map { $0.replacingOccurrences(of: "age: ", with: "").replacingOccurrences(of: "error: ", with: "") }
        if !lines.isEmpty { return lines.joined(separator: "; ") }
        return process.terminationReason == .exit ? "age exited with status \(process.terminationStatus)" : "age was killed by signal \(process.terminationStatus)"
    }
}
