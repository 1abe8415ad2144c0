import Synchronization

/// The spec hashes of the last validation, kept for the next: a reload where few services changed
/// hashes only those (JSON-encoding and hashing every service of a 10,000-resource repository is
/// most of a validation). Holds the entries the last validation used, so it never grows beyond
/// one desired state.
public final class SpecHashMemo: Sendable {
    /// A service's hash and the canonical JSON it was computed from (the `berth.spec` label).
    struct Entry: Sendable {
        var hash: String
        var canonical: String
    }

    private let entries = Mutex<[ServiceSpec: Entry]>([:])

    public init() {}

    /// The entries of the last validation (a copy: validations may run side by side).
    func snapshot() -> [ServiceSpec: Entry] {
        entries.withLock { $0 }
    }

    /// Keeps what this validation used, dropping the rest.
    func replace(with used: [ServiceSpec: Entry]) {
        entries.withLock { $0 = used }
    }
}
