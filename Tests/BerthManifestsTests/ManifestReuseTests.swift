import BerthCore
import BerthManifests
import Foundation
import Testing

@Suite("Reloading manifests through ManifestReuse")
struct ManifestReuseTests {
    private static let project = "apiVersion: berth/v1\nkind: Project\nmetadata: {name: shop}\n"

    private static func service(_ name: String, image: String) -> String {
        "apiVersion: berth/v1\nkind: Service\nmetadata: {name: \(name), project: shop}\nspec: {image: \(image), network: host}\n"
    }

    /// A fresh folder holding `files`, removed after `body`.
    private func withFolder(_ files: [String: String], _ body: (String) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-reuse-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (name, content) in files { try content.write(toFile: root + "/" + name, atomically: true, encoding: .utf8) }
        try body(root)
    }

    @Test func aReloadSeesEveryEditAdditionAndRemovalAsAFreshLoadWould() throws {
        try withFolder(["p.yaml": Self.project, "a.yaml": Self.service("a", image: "nginx:1"), "b.yaml": Self.service("b", image: "nginx:1")]) { root in
            // given
            let reuse = ManifestReuse()
            _ = try Manifests.load(paths: [root], reuse: reuse)
            // when: one file edited, one removed, one added
            try Self.service("a", image: "nginx:2").write(toFile: root + "/a.yaml", atomically: true, encoding: .utf8)
            try FileManager.default.removeItem(atPath: root + "/b.yaml")
            try Self.service("c", image: "nginx:1").write(toFile: root + "/c.yaml", atomically: true, encoding: .utf8)
            let reloaded = try Manifests.load(paths: [root], reuse: reuse)
            // then
            let fresh = try Manifests.load(paths: [root])
            #expect(reloaded.state == fresh.state)
            #expect(reloaded.state.specHashes == fresh.state.specHashes)
            #expect(reloaded.state.canonicalSpecs == fresh.state.canonicalSpecs)
            #expect(reloaded.state.resources.map(\.id.name) == ["shop", "a", "c"])
            let a = ResourceID(kind: .service, project: "shop", name: "a")
            guard case .service(let spec)? = reloaded.state.resource(a)?.spec else {
                Issue.record("service a is missing")
                return
            }
            #expect(spec.container.image.description == "nginx:2")
        }
    }

    @Test func aBrokenFileIsReportedOnEveryReloadUntilFixed() throws {
        try withFolder(["p.yaml": Self.project, "a.yaml": Self.service("a", image: "nginx:1")]) { root in
            // given
            let reuse = ManifestReuse()
            _ = try Manifests.load(paths: [root], reuse: reuse)
            try "apiVersion: berth/v1\nkind: Service\nmetadata: {name: a, project: shop}\nspec: {image: nginx, replicas: two}\n"
                .write(toFile: root + "/a.yaml", atomically: true, encoding: .utf8)
            // when / then: the same problem twice (the second from the kept read)
            for _ in 0..<2 {
                let error = #expect(throws: ValidationError.self) { try Manifests.load(paths: [root], reuse: reuse) }
                #expect(error?.issues.map(\.path) == ["spec.replicas"])
                #expect(error?.issues.first?.location?.line == 4)
            }
            // when fixed
            try Self.service("a", image: "nginx:3").write(toFile: root + "/a.yaml", atomically: true, encoding: .utf8)
            // then
            #expect(try Manifests.load(paths: [root], reuse: reuse).state.resources.count == 2)
        }
    }

    @Test func filesUnderTheGivenFolderAreNamedRelativeToIt() throws {
        try withFolder(["p.yaml": Self.project, "a.yaml": "apiVersion: berth/v1\nkind: Service\nmetadata: {name: a, project: shop}\nspec: {image: nginx, replicas: two}\n"]) { root in
            // when
            let error = #expect(throws: ValidationError.self) { try Manifests.load(paths: [root], namesRelativeTo: root) }
            // then
            #expect(error?.issues.first?.location?.file == "a.yaml")
        }
    }
}
