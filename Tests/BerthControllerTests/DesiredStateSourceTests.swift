import BerthCore
import Foundation
import Testing

@testable import BerthController

/// Manifests read ahead (`readManifests`, while a command opens its store) give the same desired
/// state as a load that reads them itself.
struct DesiredStateSourceTests {
    /// A folder with one manifest file holding `yaml`; removed by the caller.
    static func manifestFolder(_ yaml: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-source-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try yaml.write(to: folder.appendingPathComponent("shop.yaml"), atomically: true, encoding: .utf8)
        return folder
    }

    @Test func manifestsReadAheadGiveTheSameSnapshotAsALoad() async throws {
        // given: a manifest service, and one written through the API
        let folder = try Self.manifestFolder(
            """
            apiVersion: berth/v1
            kind: Project
            metadata: {name: shop}
            spec: {}
            ---
            apiVersion: berth/v1
            kind: Service
            metadata: {name: web, project: shop}
            spec: {image: example/web:1, network: none}
            """
        )
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = OutageStore()
        store.seed(try Fixture.service("api-web"))
        var source = DesiredStateSource(manifestPaths: [folder.path], store: nil)

        // when: the manifests are read before the store is known
        let manifests = try source.readManifests()
        source.store = store
        let ahead = try await source.load(now: Fixture.now, readManifests: manifests)
        let whole = try await source.load(now: Fixture.now)

        // then
        #expect(ahead.state.resources.map(\.id).sorted() == whole.state.resources.map(\.id).sorted())
        #expect(ahead.state.contains(Fixture.serviceID("web")) && ahead.state.contains(Fixture.serviceID("api-web")))
        #expect(ahead.files == [folder.appendingPathComponent("shop.yaml").path])
        #expect(ahead.files == whole.files)
    }

    @Test func aManifestProblemIsThrownByTheReadAheadWithItsFileAndLine() throws {
        // given
        let folder = try Self.manifestFolder(
            """
            apiVersion: berth/v1
            kind: Service
            metadata: {name: web, project: shop}
            spec: {image: example/web:1, replicas: many}
            """
        )
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = DesiredStateSource(manifestPaths: [folder.path], store: nil)

        // then
        let error = #expect(throws: ValidationError.self) { try source.readManifests() }
        let issue = try #require(error?.issues.first)
        #expect(issue.path == "spec.replicas")
        #expect(issue.location?.line == 4)
        #expect(issue.location?.file?.hasSuffix("shop.yaml") == true, "\(issue)")
    }
}
