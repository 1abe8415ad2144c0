import BerthCore
import BerthManifests
import Foundation
import Testing

@Suite("Loading manifest files and folders")
struct ManifestFolderTests {
    // MARK: Files

    /// A fresh folder holding `files` (name → content), removed after `body`.
    private func withFolder(_ files: [String: String], _ body: (String) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-read-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (name, content) in files {
            try content.write(toFile: root + "/" + name, atomically: true, encoding: .utf8)
        }
        try body(root)
    }

    @Test func loadsAFolderIntoValidatedDesiredState() throws {
        try withFolder([
            "project.yaml": "apiVersion: berth/v1\nkind: Project\nmetadata: {name: shop}\n",
            "app.yaml": """
            apiVersion: berth/v1
            kind: Volume
            metadata: {name: data, project: shop}
            spec: {}
            ---
            apiVersion: berth/v1
            kind: Service
            metadata: {name: app, project: shop}
            spec: {image: nginx, volumes: ["data:/data"]}
            """,
        ]) { root in
            // when
            let manifests = try Manifests.load(paths: [root])
            // then
            #expect(manifests.files == [root + "/app.yaml", root + "/project.yaml"])
            #expect(manifests.state.resources.map(\.id.description) == ["Project default/shop", "Volume shop/data", "Service shop/app"])
            #expect(manifests.state.resource(ResourceID(kind: .service, project: "shop", name: "app"))?.location?.line == 6)
        }
    }

    @Test func reportsTheProblemsOfEveryFile() throws {
        try withFolder([
            "a.yaml": """
            apiVersion: berth/v1
            kind: Service
            metadata: {name: app}
            spec:
              image: nginx
              replicas: two
            """,
            "b.yaml": """
            apiVersion: berth/v1
            kind: Volume
            metadata: {name: data}
            spec: {drivr: local}
            """,
        ]) { root in
            // when
            let error = #expect(throws: ValidationError.self) { try Manifests.load(paths: [root]) }
            // then
            let issues = error?.issues ?? []
            #expect(issues.map(\.path) == ["spec.replicas", "spec.drivr"])
            #expect(
                issues.map(\.location) == [
                    BerthCore.SourceLocation(file: root + "/a.yaml", line: 6, column: 13),
                    BerthCore.SourceLocation(file: root + "/b.yaml", line: 4, column: 8),
                ])
            #expect(issues.last?.message.contains(#"(did you mean "driver"?)"#) == true)
        }
    }

    @Test func checksResourcesAgainstEachOtherOnlyOnceEveryFileReads() throws {
        try withFolder([
            "a.yaml": "apiVersion: berth/v1\nkind: Service\nmetadata: {name: app, project: shop}\nspec: {image: nginx}\n",
            "b.yaml": "apiVersion: berth/v1\nkind: Service\nmetadata: {name: app, project: shop}\nspec: {image: nginx}\n",
        ]) { root in
            // when
            let error = #expect(throws: ValidationError.self) { try Manifests.load(paths: [root]) }
            // then
            let messages = error?.issues.map(\.message) ?? []
            #expect(messages.contains { $0.contains(#"project "shop" is not declared"#) })
            #expect(messages.contains { $0.contains("declared twice (first declared at \(root)/a.yaml:1:1)") })
        }
    }
}
