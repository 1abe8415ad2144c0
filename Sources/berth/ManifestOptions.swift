import ArgumentParser
import BerthController
import BerthCore
import BerthManifests
import BerthStore
import Foundation

/// `-f PATH` (repeatable), else `BERTH_MANIFESTS` (colon-separated), else `manifests/`.
struct ManifestOptions: ParsableArguments {
    @Option(name: [.customShort("f"), .customLong("file")], help: "A manifest file or folder (repeatable). Default: $BERTH_MANIFESTS, else manifests/.")
    var paths: [String] = []

    var resolvedPaths: [String] {
        if !paths.isEmpty { return paths }
        if let fromEnvironment = Settings.environment["BERTH_MANIFESTS"], !fromEnvironment.isEmpty {
            return fromEnvironment.split(separator: ":").map(String.init)
        }
        return ["manifests"]
    }

    func load() throws(BerthCore.ValidationError) -> Manifests {
        try Manifests.load(paths: resolvedPaths)
    }

    /// The desired-state source: these manifests plus the store's API resources. The default
    /// `manifests/` may be missing (the API alone declares resources); a path given is required.
    func source(store: (any Store)?) -> DesiredStateSource {
        DesiredStateSource(manifestPaths: resolvedPaths, manifestsOptional: paths.isEmpty && Settings.environment["BERTH_MANIFESTS"] == nil, store: store)
    }

    /// Starts reading and validating the manifests on a task of their own and returns at once:
    /// the caller opens the store meanwhile (on its own thread), and
    /// ``ManifestLoading/snapshot(store:)`` then adds the store's resources.
    func startLoading() -> ManifestLoading {
        let source = source(store: nil)
        return ManifestLoading(source: source, reading: Task { try source.readManifests() })
    }
}

/// Manifests being read while the store opens (``ManifestOptions/startLoading()``).
struct ManifestLoading {
    let source: DesiredStateSource
    let reading: Task<Manifests?, any Error>

    /// The desired state: those manifests and the store's API resources. Prints every validation
    /// problem on failure.
    func snapshot(store: any Store) async throws -> DesiredStateSource.Snapshot {
        var source = source
        source.store = store
        do {
            return try await source.load(readManifests: reading.value)
        } catch let error as BerthCore.ValidationError {
            printIssues(error)
            throw ExitStatus.failure
        }
    }
}
