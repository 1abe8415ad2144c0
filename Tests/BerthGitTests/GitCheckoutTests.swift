@testable import BerthGit
import Foundation
import Testing

/// Checkouts, blob ids and cleanup of a mirror fetched from a file:// remote.
@Suite("Git checkout") struct GitCheckoutTests {
    @Test func aCheckoutHoldsTheFilesOfItsCommitAndIsReused() async throws {
        let remote = try ScratchRemote()
        let sha = try remote.commit(["deploy/app.yaml": "app\n", "deploy/db/db.yaml": "db\n", "README": "read me\n"], message: "one")
        try remote.push()
        let repository = try remote.repository(path: "./deploy/")
        _ = try await repository.fetch()
        let folder = try await repository.checkout(sha)
        #expect(folder.hasSuffix("/checkouts/\(sha)/deploy"))
        #expect(try String(contentsOfFile: folder + "/app.yaml", encoding: .utf8) == "app\n")
        #expect(try String(contentsOfFile: folder + "/db/db.yaml", encoding: .utf8) == "db\n")
        // Only the configured folder is checked out.
        #expect(!FileManager.default.fileExists(atPath: folder + "/../README"))
        try writeFile(folder + "/marker", "left by the test")
        #expect(try await repository.checkout(sha) == folder)
        #expect(FileManager.default.fileExists(atPath: folder + "/marker"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: remote.state + "/checkouts").filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)
    }

    @Test func symbolicLinksAreCheckedOutAsPlainFiles() async throws {
        let remote = try ScratchRemote()
        try FileManager.default.createSymbolicLink(atPath: remote.work + "/passwd.yaml", withDestinationPath: "/etc/passwd")
        let sha = try remote.commit([:], message: "link")
        try remote.push()
        let repository = try remote.repository()
        _ = try await repository.fetch()
        let folder = try await repository.checkout(sha)
        let attributes = try FileManager.default.attributesOfItem(atPath: folder + "/passwd.yaml")
        #expect(attributes[.type] as? FileAttributeType == .typeRegular)
        #expect(try String(contentsOfFile: folder + "/passwd.yaml", encoding: .utf8) == "/etc/passwd")
    }

    @Test func aMissingPathIsPathNotFound() async throws {
        let remote = try ScratchRemote()
        let sha = try remote.commit(["deploy/app.yaml": "app\n", "file.yaml": "f\n"], message: "one")
        try remote.push()
        for path in ["missing", "file.yaml"] {
            let repository = try remote.repository(path: path)
            _ = try await repository.fetch()
            for error in [
                await gitError { () async throws(GitError) in try await repository.checkout(sha) }
            ] {
                guard case .pathNotFound(let message) = error else {
                    Issue.record("\(path): expected pathNotFound, got \(String(describing: error))")
                    continue
                }
                #expect(message.contains(path))
                #expect(message.contains(sha))
            }
        }
    }

    @Test func aCommitNeverFetchedIsRefNotFound() async throws {
        let remote = try ScratchRemote()
        try remote.commit(["a.yaml": "a\n"], message: "one")
        try remote.push()
        let repository = try remote.repository()
        _ = try await repository.fetch()
        let error = await gitError { () async throws(GitError) in try await repository.checkout(String(repeating: "ab", count: 20)) }
        guard case .refNotFound = error else {
            Issue.record("expected refNotFound, got \(String(describing: error))")
            return
        }
    }

    @Test func removingCheckoutsKeepsTheListedOnes() async throws {
        let remote = try ScratchRemote()
        let repository = try remote.repository()
        var shas: [String] = []
        for number in 1...3 {
            shas.append(try remote.commit(["a.yaml": "\(number)\n"], message: "commit \(number)"))
            try remote.push()
            _ = try await repository.fetch()
            _ = try await repository.checkout(shas.last!)
        }
        try repository.removeCheckouts(keeping: [shas[0], shas[2]])
        let left = try FileManager.default.contentsOfDirectory(atPath: remote.state + "/checkouts")
        #expect(Set(left) == [shas[0], shas[2]])
        let refs = try runProgram("/usr/bin/git", ["--git-dir", remote.state + "/mirror.git", "for-each-ref", "--format=%(refname)", "refs/berth/keep/"])
        #expect(Set(refs.split(separator: "\n").map(String.init)) == ["refs/berth/keep/\(shas[0])", "refs/berth/keep/\(shas[2])"])
        // A kept commit still checks out after its folder is gone.
        try FileManager.default.removeItem(atPath: remote.state + "/checkouts/\(shas[0])")
        #expect(try String(contentsOfFile: try await repository.checkout(shas[0]) + "/a.yaml", encoding: .utf8) == "1\n")
    }
}
