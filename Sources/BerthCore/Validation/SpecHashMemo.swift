import Synchronization

/// The spec hashes of the last validation, kept for the next: a reload where few services and
/// volumes changed hashes only those (JSON-encoding and hashing every service of a
/// 10,000-resource repository is most of a validation). Holds the entries the last validation used, so it never grows beyond
/// one desired state.
public final class SpecHashMemo: Sendable {
    /// What was hashed (a service's recreate-relevant fields, a volume's spec), the hash, and for
    /// a service the canonical JSON it was computed from (the `berth.spec` label).
    struct Entry: Sendable {
        var spec: ResourceSpec
        var hash: String
        var canonical: String?
    }

    /// By resource: comparing a spec with the one kept is cheaper than hashing it as a key.
    private let entries = Mutex<[ResourceID: Entry]>([:])

    public init() {}

    /// The entries of the last validation (a copy: validations may run side by side).
    func snapshot() -> [ResourceID: Entry] {
        entries.withLock { $0 }
    }

    /// Keeps what this validation used, dropping the rest.
    func replace(with used: [ResourceID: Entry]) {
        entries.withLock { $0 = used }
    }
}
