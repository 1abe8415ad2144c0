import BerthCore
import BerthManifests
import BerthStore
import Foundation

/// Where desired state comes from: manifest files and folders, plus the resources written through
/// the API into the store. Both are validated together, so a name declared in both is an error
/// with the manifest's file and line.
public struct DesiredStateSource: Sendable {
    /// Manifest files and folders; empty when only the store declares resources.
    public var manifestPaths: [String]
    /// When true, a missing manifest path counts as no manifests (the default `manifests/` of `serve`).
    public var manifestsOptional: Bool
    public var store: (any Store)?

    public init(manifestPaths: [String], manifestsOptional: Bool = false, store: (any Store)?) {
        self.manifestPaths = manifestPaths
        self.manifestsOptional = manifestsOptional
        self.store = store
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
    }

    public func load() async throws -> Snapshot {
        let paths = manifestsOptional ? manifestPaths.filter { FileManager.default.fileExists(atPath: $0) } : manifestPaths
        let manifests = paths.isEmpty ? nil : try Manifests.load(paths: paths)
        var stored: [StoredResource] = []
        if let store { stored = try await store.resources(kind: nil, project: nil, includeDeleted: true) }
        let live = stored.filter { !$0.isDeleted }
        let deleted = stored.filter(\.isDeleted)
        var state: DesiredState
        if live.isEmpty {
            state = manifests?.state ?? DesiredState()
        } else {
            state = try DesiredState.validate((manifests?.state.resources ?? []) + live.map(\.resource))
        }
        state.includeInScope(deleted.map(\.id.project))
        return Snapshot(
            state: state,
            files: manifests?.files ?? [],
            deleted: deleted,
            generations: Dictionary(live.map { ($0.id, $0.generation) }, uniquingKeysWith: { first, _ in first })
        )
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
