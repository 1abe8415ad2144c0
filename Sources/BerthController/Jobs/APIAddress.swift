import Synchronization

/// The API's URL as workers should call it, set when the server is listening.
public final class APIAddress: Sendable {
    private let value = Mutex<String?>(nil)

    public init() {}

    public var current: String? { value.withLock { $0 } }

    public func set(_ url: String) {
        value.withLock { $0 = url }
    }
}
