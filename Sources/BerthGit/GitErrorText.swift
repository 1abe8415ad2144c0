import BerthSubprocess
import Foundation

/// Turns a failed git command into a `GitError`: its error output scrubbed (URL userinfo removed,
/// every line holding a secret dropped, the end kept) and sorted by what went wrong.
enum GitErrorText {
    /// `text` without URL userinfo, without lines containing any of `secrets`, at most its last 15 lines.
    static func scrub(_ text: String, secrets: [String]) -> String {
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
            .filter { line in !secrets.contains { !$0.isEmpty && line.contains($0) } }
            .map { $0.replacing(/([A-Za-z][A-Za-z0-9+.\-]*:\/\/)[^\/@\s]+@/) { "\($0.output.1)" } }
            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        return lines.suffix(15).joined(separator: "\n")
    }

    /// The error of a failed command that talked to the remote at `url` (redacted).
    static func remoteError(_ output: SubprocessOutput, subcommand: String, url: String, ref: String, secrets: [String], timeout: Duration) -> GitError {
        if output.timedOut { return .unreachable("git \(subcommand) from \(url) did not finish within \(timeout) and was killed") }
        let text = scrub(output.errorText, secrets: secrets)
        let has = { (needles: [String]) in needles.contains { text.localizedCaseInsensitiveContains($0) } }
        if has(["Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED", "No host key is known"]) {
            return .authenticationFailed("the ssh key of the server of \(url) is not the one in the known_hosts file:\n\(text)")
        }
        if has(["could not read Username", "could not read Password", "terminal prompts disabled"]) {
            return .authenticationFailed("\(url) asks for credentials and none were given (set an auth file):\n\(text)")
        }
        if has(["Authentication failed", "Permission denied", "returned error: 403"]) {
            return .authenticationFailed("\(url) refused the credentials:\n\(text)")
        }
        if has(["couldn't find remote ref", "not our ref", "unadvertised object", "no such remote ref", "Remote branch"]) {
            return .refNotFound("\(ref) is not on \(url):\n\(text)")
        }
        if has([
            "Failed to connect", "Couldn't connect", "Could not resolve", "unable to connect", "Connection refused", "Connection timed out",
            "No route to host", "Network is unreachable", "Connection reset", "Operation timed out", "Name or service not known",
        ]) {
            return .unreachable("\(url):\n\(text)")
        }
        return .failed("git \(subcommand) from \(url) exited with \(output.status):\n\(text)")
    }

    /// The error of a failed command on the local mirror.
    static func localError(_ output: SubprocessOutput, subcommand: String, timeout: Duration) -> GitError {
        if output.timedOut { return .failed("git \(subcommand) did not finish within \(timeout) and was killed") }
        return .failed("git \(subcommand) exited with \(output.status):\n\(scrub(output.errorText, secrets: []))")
    }
}
