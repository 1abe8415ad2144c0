import BerthCore
import BerthHostFiles
import Foundation

/// Turns a spec's `env` into the values a container gets: literals as they are, `fromEnv` from the
/// controller's own environment, `fromFile` from a regular file on the controller's host (at most
/// `HostFile.valueLimit`, no symbolic link, device or FIFO). Resolved values go to the engine
/// only; they are never logged or stored.
public struct EnvironmentResolver: Sendable {
    /// The controller's environment, where `fromEnv` looks.
    public var processEnvironment: [String: String]

    public init(processEnvironment: [String: String] = ProcessInfo.processInfo.environment) {
        self.processEnvironment = processEnvironment
    }

    /// Every variable resolved, or an error naming the first (in name order) that cannot be.
    public func resolve(_ env: [String: EnvValue]) throws(ExecutionError) -> [String: String] {
        var resolved: [String: String] = [:]
        for (name, value) in env.sorted(by: { $0.key < $1.key }) {
            switch value {
            case .literal(let text):
                resolved[name] = text
            case .fromEnv(let variable):
                guard let text = processEnvironment[variable] else {
                    throw ExecutionError("env.\(name): the controller's environment variable \(variable) is not set")
                }
                resolved[name] = text
            case .fromFile(let path):
                var text = try Self.read(path, for: name)
                if text.hasSuffix("\n") { text.removeLast() }
                resolved[name] = text
            }
        }
        return resolved
    }

    /// The text of the file `path` names for the variable `name`.
    private static func read(_ path: String, for name: String) throws(ExecutionError) -> String {
        do throws(HostFileError) {
            return String(decoding: try HostFile.read(path, limit: HostFile.valueLimit).bytes, as: UTF8.self)
        } catch {
            throw ExecutionError("env.\(name): cannot read \(path) on the controller's host: \(error.message)")
        }
    }
}
