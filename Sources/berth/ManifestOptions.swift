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

    /// Loads the desired state, printing every validation problem on failure.
    func loadSnapshot(store: (any Store)?) async throws -> DesiredStateSource.Snapshot {
        do {
            return try await source(store: store).load()
        } catch let error as BerthCore.ValidationError {
            printIssues(error)
            throw ExitStatus.failure
        }
    }
}
