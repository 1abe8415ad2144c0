import BerthCore
import Synchronization

/// What one load of manifests keeps for the next through the same instance: each file's bytes
/// with the resources and problems read from them, and the services' spec hashes. A reload reads
/// every file's bytes but parses only the files whose bytes changed, so a commit touching one file
/// of a 10,000-resource repository is read in a fraction of a full parse. Holds the files of the
/// last load only.
public final class ManifestReuse: Sendable {
    /// What one file's bytes gave.
    struct FileRead: Sendable {
        var bytes: [UInt8]
        var resources: [Resource]
        var issues: [ValidationIssue]
    }

    private let files = Mutex<[String: FileRead]>([:])
    /// The spec hashes of the last load's services.
    public let specHashes = SpecHashMemo()

    public init() {}

    /// The files of the last load, by the name they were read under.
    func snapshot() -> [String: FileRead] {
        files.withLock { $0 }
    }

    func replace(with reads: [String: FileRead]) {
        files.withLock { $0 = reads }
    }
}
