import BerthGit
import Synchronization

/// The git revision whose manifests the controller converges now. ``GitSync`` selects one; the
/// ``DesiredStateSource`` reads its folder on every load.
public final class GitSelection: Sendable {
    /// A revision checked out on disk.
    public struct Revision: Sendable, Hashable {
        public var commit: GitCommit
        /// The folder the manifests are read from (`path` inside the checkout).
        public var folder: String
        /// The checkout's root: files are named relative to it, as in the repository.
        public var root: String

        /// `folder` holds the tree at `path` of the repository (`.` for its root).
        public init(commit: GitCommit, folder: String, path: String) {
            self.commit = commit
            self.folder = folder
            let inner = path.split(separator: "/").filter { $0 != "." }
            var root = folder
            for _ in inner {
                guard let slash = root.lastIndex(of: "/") else { break }
                root = String(root[..<slash])
            }
            self.root = root
        }

        /// `1a2b3c4 (subject)`, as logs and events name a revision.
        public var label: String { "\(commit.sha.prefix(7)) (\(commit.subject))" }
    }

    private let selected = Mutex<Revision?>(nil)

    public init() {}

    /// The revision converged now; nil until the first is chosen.
    public var revision: Revision? { selected.withLock { $0 } }

    func select(_ revision: Revision) {
        selected.withLock { $0 = revision }
    }
}
