import ArgumentParser

/// A command failed for a reason already explained to the user: printed once, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    var message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Exit codes scripts rely on.
enum ExitStatus {
    /// The input was invalid or the command failed.
    static let failure = ExitCode(1)
}
