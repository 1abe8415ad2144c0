import BerthCore
import Foundation

/// Turns a spec's `env` into the values a container gets: literals as they are, `fromEnv` from the
/// controller's own environment, `fromFile` from a file on the controller's host. Resolved values
/// go to the engine only; they are never logged or stored.
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
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ExecutionError("env.\(name): cannot read \(path) on the controller's host (missing or not readable)")
                }
                var text = String(decoding: data, as: UTF8.self)
                if text.hasSuffix("\n") { text.removeLast() }
                resolved[name] = text
            }
        }
        return resolved
    }
}

/// Why an action could not be carried out, in words for the resource's status and events.
public struct ExecutionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
