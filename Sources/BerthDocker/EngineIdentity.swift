import Synchronization

/// An engine's ID, read once and shared by every copy of the `DockerEngine` that read it.
final class EngineIdentity: Sendable {
    private let id = Mutex<String?>(nil)

    var value: String? { id.withLock { $0 } }

    func remember(_ value: String) {
        id.withLock { $0 = value }
    }
}
