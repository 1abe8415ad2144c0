import BerthSubprocess
import Foundation

/// Why `age` could not encrypt or decrypt: its own words (standard error), or why it did not run.
public struct AgeError: Error, Sendable, CustomStringConvertible {
    public var message: String

    public var description: String { message }
}

/// Runs the `age` command (docs/architecture.md, "Encrypted values"): the input goes in through its
/// standard input and the result comes out of its standard output, so neither a plaintext nor a
/// ciphertext is ever written to disk or put in an argument list. Each run is bounded in time;
/// past it, `age` is killed (`Subprocess`).
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
        guard let found = Subprocess.find("age", on: path) else {
            throw AgeError(message: "the age command is not installed (no age on PATH); install the age package")
        }
        return found
    }

    /// What `age` printed on standard output after reading `input`, or its standard error when it
    /// failed.
    private static func run(_ arguments: [String], input: [UInt8], timeout: Duration) async throws(AgeError) -> [UInt8] {
        let age = Subprocess(executable: try executable(), environment: nil, timeout: timeout)
        let output: SubprocessOutput
        do throws(SubprocessError) {
            output = try await age.run(arguments, input: Data(input))
        } catch {
            throw AgeError(message: error.description)
        }
        if output.timedOut { throw AgeError(message: "age did not finish within \(timeout) and was stopped") }
        guard output.succeeded else { throw AgeError(message: explain(output)) }
        return Array(output.standardOutput)
    }

    /// age's own error lines without its `age: error:` prefixes and its closing "report unexpected
    /// errors" line, or how it ended.
    private static func explain(_ output: SubprocessOutput) -> String {
        let lines = output.errorText.split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.contains("report unexpected or unhelpful errors") }
            .map { $0.replacingOccurrences(of: "age: ", with: "").replacingOccurrences(of: "error: ", with: "") }
        if !lines.isEmpty { return lines.joined(separator: "; ") }
        return output.killedBySignal ? "age was killed by signal \(output.status)" : "age exited with status \(output.status)"
    }
}
