/// Why an action could not be carried out, in words for the resource's status and events.
public struct ExecutionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
