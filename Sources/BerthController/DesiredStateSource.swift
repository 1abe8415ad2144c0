import BerthCore
import BerthGit
import BerthManifests
import BerthStore
import Foundation
import Synchronization

/// Where desired state comes from: manifest files and folders, plus the resources written through
/// the API into the store. Both are validated together, so a name declared in both is an error
/// with the manifest's file and line. When the store cannot be read (down, slow, full), a load
/// goes on with the manifests read now and the store's resources last read, and says since when
/// they are stale: API-written services keep running while the store is away.
public struct DesiredStateSource: Sendable {
    /// Manifest files and folders; empty when only the store declares resources.
    public var manifestPaths: [String]
    /// When true, a missing manifest path counts as no manifests (the default `manifests/` of `serve`).
    public var manifestsOptional: Bool
    public var store: (any ResourceStore)?
    /// How long a load waits for the store before it goes on with the resources last read.
    public var storeTimeout: Duration
    /// When set, the manifests are those of the git revision it selects (and `manifestPaths` is
    /// unused); a load before any revision is selected throws ``GitSourceNotReady``.
    public var git: GitSelection?
    /// The store's resources last read, shared by the copies of this source.
    private let lastRead = LastStoreRead()
    /// The last load's parsed files and spec hashes: a reload parses only the files that changed.
    private let reuse = ManifestReuse()

    public init(
        manifestPaths: [String], manifestsOptional: Bool = false, store: (any ResourceStore)?, storeTimeout: Duration = .seconds(5), git: GitSelection? = nil
    ) {
        self.git = git
        self.manifestPaths = manifestPaths
        self.manifestsOptional = manifestsOptional
        self.store = store
        self.storeTimeout = storeTimeout
    }

    /// The desired state is not what the store holds now: it could not be read.
    public struct Staleness: Sendable, Hashable {
        /// The first failed read since the last good one.
        public var since: Date
        /// The store's error.
        public var reason: String
    }

    /// One consistent reading of desired state.
    public struct Snapshot: Sendable {
        public var state: DesiredState
        /// The manifest files read.
        public var files: [String]
        /// API resources deleted but not yet purged: their objects are removed, then their rows.
        public var deleted: [StoredResource]
        /// Generations of API resources, for status.
        public var generations: [ResourceID: Int64]
        /// Set when the store's resources are the last ones read, not the store's now.
        public var staleness: Staleness? = nil
        /// The git revision the manifests come from, when they come from git.
        public var revision: GitCommit? = nil
    }

    /// Reads the manifests and the store's resources; throws when the manifests do not validate,
    /// and when the store cannot be read and never could be (nothing is known of its resources).
    public func load(now: Date = Date()) async throws -> Snapshot {
        let revision = git?.revision
        if git != nil, revision == nil { throw GitSourceNotReady() }
        return try await load(now: now, manifests: try loadManifests(revision: revision), revision: revision)
    }

    /// The manifests alone, read and validated as ``load(now:)`` reads them, for
    /// ``load(now:readManifests:)``: a caller reads them while it opens the store. Not for a git
    /// source, whose manifests are those of the revision selected when it loads.
    public func readManifests() throws(ValidationError) -> Manifests? {
        precondition(git == nil, "a git source reads its manifests when it loads")
        return try loadManifests(revision: nil)
    }

    /// ``load(now:)`` with the manifests ``readManifests()`` gave.
    public func load(now: Date = Date(), readManifests manifests: Manifests?) async throws -> Snapshot {
        precondition(git == nil, "a git source reads its manifests when it loads")
        return try await load(now: now, manifests: manifests, revision: nil)
    }

    private func load(now: Date, manifests: Manifests?, revision: GitSelection.Revision?) async throws -> Snapshot {
        var stored: [StoredResource] = []
        var staleness: Staleness?
        if let store {
            do {
                stored = try await withStoreDeadline(storeTimeout) { try await store.resources(kind: nil, project: nil, includeDeleted: true) }
                lastRead.succeeded(stored)
            } catch {
                guard let last = lastRead.failed("\(error)", now: now) else { throw error }
                stored = last.resources
                staleness = last.staleness
            }
        }
        let live = stored.filter { !$0.isDeleted }
        let deleted = stored.filter(\.isDeleted)
        var state = try combined(manifests, live)
        state.includeInScope(deleted.map(\.id.project))
        state.markWrittenByAPIWriters(live.filter { $0.source == .api }.map(\.id))
        return Snapshot(
            state: state,
            files: manifests?.files ?? [],
            deleted: deleted,
            generations: Dictionary(live.map { ($0.id, $0.generation) }, uniquingKeysWith: { first, _ in first }),
            staleness: staleness,
            revision: revision?.commit
        )
    }

    /// The desired state `revision` would give with the store's resources: what a git revision is
    /// checked against, as a whole, before anything of it is applied. Throws its problems, each
    /// with its file (named as in the repository), line and field.
    public func validate(_ revision: GitSelection.Revision) async throws -> DesiredState {
        let manifests = try loadManifests(revision: revision)
        guard let store else { return manifests?.state ?? DesiredState() }
        let live = try await withStoreDeadline(storeTimeout) { try await store.resources(kind: nil, project: nil, includeDeleted: false) }
        return try combined(manifests, live)
    }

    /// The manifests' state with the store's live resources checked in (as it is, without any).
    private func combined(_ manifests: Manifests?, _ live: [StoredResource]) throws(ValidationError) -> DesiredState {
        guard !live.isEmpty else { return manifests?.state ?? DesiredState() }
        return try DesiredState.validate((manifests?.state.resources ?? []) + live.map(\.resource), memo: reuse.specHashes)
    }

    /// Why an API write of a resource is refused.
    public enum WriteRefusal: Error, Sendable {
        /// A manifest declares the resource: the manifest owns it.
        case ownedByManifest(file: String)
        /// The desired state would not validate after the write.
        case invalid(ValidationError)
        /// The manifests themselves do not validate now, so no write can be checked.
        case manifestsInvalid(ValidationError)
    }

    /// Checks an API write, the document `resource` (nil: a deletion), against the manifests and
    /// the other API resources: the same cross-checks a pass makes, so a write the API accepts
    /// never leaves the controller with desired state it cannot load. Returns that desired state.
    public func checkWrite(_ id: ResourceID, _ resource: Resource?) async throws -> DesiredState {
        let manifests: Manifests?
        do {
            manifests = try loadManifests(revision: git?.revision)
        } catch {
            throw WriteRefusal.manifestsInvalid(error)
        }
        if let owned = manifests?.state.resources.first(where: { $0.id == id }) {
            throw WriteRefusal.ownedByManifest(file: owned.location?.file ?? "a manifest")
        }
        var stored: [StoredResource] = []
        if let store { stored = try await store.resources(kind: nil, project: nil, includeDeleted: false) }
        let others = stored.filter { $0.id != id }.map(\.resource)
        do {
            return try DesiredState.validate((manifests?.state.resources ?? []) + others + (resource.map { [$0] } ?? []))
        } catch {
            throw WriteRefusal.invalid(error)
        }
    }

    /// The resources the manifests declare, each with its file.
    public func manifestResources() throws(ValidationError) -> [Resource] {
        try loadManifests(revision: git?.revision)?.state.resources ?? []
    }

    /// The manifests, or nil when there are none to read: those of `revision` when the manifests
    /// come from git (none before the first revision), else those of `manifestPaths`.
    private func loadManifests(revision: GitSelection.Revision?) throws(ValidationError) -> Manifests? {
        if let revision { return try Manifests.load(paths: [revision.folder], reuse: reuse, namesRelativeTo: revision.root) }
        if git != nil { return nil }
        let paths = manifestsOptional ? manifestPaths.filter { FileManager.default.fileExists(atPath: $0) } : manifestPaths
        return paths.isEmpty ? nil : try Manifests.load(paths: paths, reuse: reuse)
    }

    /// A fingerprint of the manifest files (paths, sizes, modification times) that changes when
    /// any of them is edited, added or removed: the folder watch polls it.
    public func manifestFingerprint() -> [String] {
        var entries: [String] = []
        for path in manifestPaths {
            let files = (try? ManifestFiles.collect(paths: [path])) ?? []
            for file in files {
                let attributes = try? FileManager.default.attributesOfItem(atPath: file)
                let size = (attributes?[.size] as? NSNumber)?.int64Value ?? -1
                let modified = (attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                entries.append("\(file) \(size) \(modified)")
            }
        }
        return entries
    }
}

/// Desired state comes from git and no revision is selected yet: nothing is converged (an empty
/// desired state would remove what the last revision created).
public struct GitSourceNotReady: Error, CustomStringConvertible {
    public var description: String { "no git revision is checked out yet; waiting for the first fetch" }
}

/// The store's resources of the last good read, and since when reads fail.
private final class LastStoreRead: Sendable {
    private let state = Mutex<(resources: [StoredResource]?, staleness: DesiredStateSource.Staleness?)>((nil, nil))

    func succeeded(_ resources: [StoredResource]) {
        state.withLock { $0 = (resources, nil) }
    }

    /// The resources last read and the staleness (since the first failure in a row); nil when
    /// no read ever succeeded.
    func failed(_ reason: String, now: Date) -> (resources: [StoredResource], staleness: DesiredStateSource.Staleness)? {
        state.withLock { state in
            guard let resources = state.resources else { return nil }
            let staleness = DesiredStateSource.Staleness(since: state.staleness?.since ?? now, reason: reason)
            state.staleness = staleness
            return (resources, staleness)
        }
    }
}
