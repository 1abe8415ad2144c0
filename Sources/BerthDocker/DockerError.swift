/// The error every `BerthDocker` call throws, typed by what the caller must do about it.
public struct DockerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public enum Code: Sendable, Hashable {
        /// 404: the object does not exist.
        case notFound
        /// 409: a name in use, a running container that cannot be removed, …
        case conflict
        /// 304: the container was already in the requested state.
        case notModified
        /// 400: the engine refused the request; `message` is the engine's.
        case badRequest
        /// The engine could not be reached at all.
        case unreachable
        case timeout
        case cancelled
        /// The engine answered with something Berth could not decode.
        case decoding
        /// Any other engine failure (5xx and the rest).
        case engine
    }

    public var code: Code
    /// What failed, and how to fix it where Berth can tell.
    public var message: String
    /// The HTTP status, when the engine answered.
    public var status: Int?

    public init(_ code: Code, _ message: String, status: Int? = nil) {
        self.code = code
        self.message = message
        self.status = status
    }

    static func unreachable(_ endpoint: DockerEndpoint, _ detail: String) -> DockerError {
        DockerError(.unreachable, "cannot reach the Docker engine at \(endpoint): \(detail); is dockerd running, and is DOCKER_HOST (or --docker-host) right?")
    }

    static func decoding(_ what: String, _ error: any Error) -> DockerError {
        let detail: String
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            detail = "missing field \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context), DecodingError.dataCorrupted(let context):
            detail = "field \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        default:
            detail = "\(error)"
        }
        return DockerError(.decoding, "unexpected answer from the Docker engine to \(what): \(detail)")
    }

    /// Whether trying again later can help (the engine was away or slow).
    public var isRetryable: Bool {
        code == .unreachable || code == .timeout || (code == .engine && (status ?? 500) >= 500)
    }

    /// A start refused because containerd still holds the container's task from before an engine
    /// restart (`task 6ea1…: already exists`), or its task directory (`failed to start shim: mkdir
    /// …/moby/6ea1…: file exists`): every later start of that container fails the same way until
    /// it is removed.
    public var isStaleTask: Bool {
        guard code == .engine else { return false }
        return message.contains("task ") && message.hasSuffix("already exists")
            || message.contains("failed to start shim: mkdir ") && message.contains(": file exists")
    }

    /// Whether the engine itself was away (unreachable, or no answer in time): the request says
    /// nothing about the object it was about.
    public var isEngineAway: Bool { code == .unreachable || code == .timeout }

    public var description: String { message }
}
