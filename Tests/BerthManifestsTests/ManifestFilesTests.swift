import BerthCore
import BerthManifests
import Foundation
import Testing

@Suite("Manifest files")
struct ManifestFilesTests {
    /// A fresh folder holding `files` (relative path → content), removed after `body`.
    private func withFolder(_ files: [String: String], _ body: (String) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (path, content) in files {
            let full = root + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try content.write(toFile: full, atomically: true, encoding: .utf8)
        }
        try body(root)
    }

    @Test func collectsYAMLFilesOfNestedFoldersSortedByPath() throws {
        try withFolder([
            "b.yaml": "", "a.yml": "", "notes.txt": "", ".hidden.yaml": "", ".git/x.yaml": "",
            "sub/c.yaml": "", "sub/deeper/d.yaml": "", "a/z.yaml": "",
        ]) { root in
            // when
            let files = try ManifestFiles.collect(paths: [root])
            // then
            #expect(files == ["a.yml", "a/z.yaml", "b.yaml", "sub/c.yaml", "sub/deeper/d.yaml"].map { root + "/" + $0 })
        }
    }

    @Test func keepsNamedFilesInTheOrderGivenAndReadsEachOnce() throws {
        try withFolder(["b.yaml": "", "sub/c.yaml": "", "notes.txt": ""]) { root in
            // when
            let files = try ManifestFiles.collect(paths: [root + "/sub/c.yaml", root + "/notes.txt", root, root + "/b.yaml"])
            // then
            #expect(files == [root + "/sub/c.yaml", root + "/notes.txt", root + "/b.yaml"])
        }
    }

    @Test func followsFolderLinksWithoutLooping() throws {
        try withFolder(["app/a.yaml": "", "shared/s.yaml": ""]) { root in
            // given
            try FileManager.default.createSymbolicLink(atPath: root + "/app/loop", withDestinationPath: root + "/app")
            try FileManager.default.createSymbolicLink(atPath: root + "/app/shared", withDestinationPath: root + "/shared")
            // when
            let files = try ManifestFiles.collect(paths: [root + "/app"])
            // then
            #expect(files == [root + "/app/a.yaml", root + "/app/shared/s.yaml"])
        }
    }

    @Test func namesEveryMissingPath() throws {
        try withFolder(["b.yaml": ""]) { root in
            // when
            let error = #expect(throws: ValidationError.self) {
                try ManifestFiles.collect(paths: [root + "/missing.yaml", root + "/b.yaml", root + "/gone"])
            }
            // then
            #expect(error?.issues.count == 2)
            #expect(error?.issues.first?.message.contains("missing.yaml") == true)
            #expect(error?.issues.last?.message.contains("gone") == true)
        }
    }

    @Test func loadsAllFilesAndReportsTheProblemsOfEveryOne() throws {
        try withFolder([
            "1-bad.yaml": "name: a\nname: b\n",
            "2-good.yaml": "kind: A\n---\nkind: B\n",
            "3-broken.yaml": "kind: [C\n",
        ]) { root in
            // when
            let (documents, issues) = ManifestFiles.loadDocuments(paths: [root, root + "/absent.yaml"])
            // then
            #expect(documents.map(\.file) == [root + "/2-good.yaml", root + "/2-good.yaml"])
            #expect(documents.map(\.index) == [0, 1])
            #expect(issues.count == 3)
            #expect(issues[0].message.contains("absent.yaml"))
            #expect(issues[1].location == BerthCore.SourceLocation(file: root + "/1-bad.yaml", line: 2, column: 1))
            #expect(issues[2].location?.file == root + "/3-broken.yaml")
        }
    }

    @Test func rejectsAFileOverTheByteLimitWithoutReadingAllOfIt() throws {
        try withFolder(["big.yaml": String(repeating: "a: 1\n", count: 100)]) { root in
            // when
            let (documents, issues) = ManifestFiles.loadDocuments(paths: [root], limits: ManifestLimits(maxFileBytes: 64))
            // then
            #expect(documents.isEmpty)
            #expect(issues.first?.message.contains("maxFileBytes") == true)
        }
    }
}
