@testable import BerthGit
import Foundation
import Testing

/// Commits signed with SSH keys (`gpg.format=ssh`), checked against an allowed_signers file, or
/// with GPG keys, checked against a file of armored GPG public keys.
@Suite("Git signatures") struct GitSignatureTests {
    /// A new ed25519 key pair; returns the private key's path and the public key's "type base64".
    private func makeKey(in folder: String, name: String) throws -> (path: String, publicKey: String) {
        let path = folder + "/" + name
        try runProgram("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", path])
        let publicKey = try String(contentsOfFile: path + ".pub", encoding: .utf8).split(separator: " ").prefix(2).joined(separator: " ")
        return (path, publicKey)
    }

    @Test func onlyCommitsSignedByAnAllowedKeyPass() async throws {
        let remote = try ScratchRemote()
        let keys = try scratchFolder("keys")
        let allowed = try makeKey(in: keys, name: "allowed")
        let unknown = try makeKey(in: keys, name: "unknown")
        let allowedSigners = keys + "/allowed_signers"
        try writeFile(allowedSigners, "ada@example.org \(allowed.publicKey)\n", mode: 0o644)
        let repository = try remote.repository(url: try remote.daemonURL, allowedSignersFile: allowedSigners)

        let signed = try remote.commit(["a.yaml": "1\n"], message: "signed", signingKey: allowed.path)
        try remote.push()
        #expect(try await repository.fetch().sha == signed)
        try await repository.verifySignature(signed)

        let unsigned = try remote.commit(["a.yaml": "2\n"], message: "unsigned")
        try remote.push()
        #expect(try await repository.fetch().sha == unsigned)
        let unsignedError = await gitError { () async throws(GitError) in try await repository.verifySignature(unsigned) }
        #expect(unsignedError == .signature("commit \(unsigned): it is not signed"))

        let foreign = try remote.commit(["a.yaml": "3\n"], message: "unknown key", signingKey: unknown.path)
        try remote.push()
        #expect(try await repository.fetch().sha == foreign)
        let foreignError = await gitError { () async throws(GitError) in try await repository.verifySignature(foreign) }
        guard case .signature(let message) = foreignError else {
            Issue.record("expected signature, got \(String(describing: foreignError))")
            return
        }
        #expect(message.contains(foreign))
        #expect(message.contains("not in \(allowedSigners)"))
    }

    @Test func withGPGKeysOnlyCommitsSignedByOneOfThemPass() async throws {
        let remote = try ScratchRemote()
        let allowed = try GPGKey("Ada Tester <ada@example.org>")
        let unknown = try GPGKey("Mallory <mallory@example.org>")
        defer {
            allowed.stopAgent()
            unknown.stopAgent()
        }
        let keys = try scratchFolder("gpg-keys") + "/allowed.asc"
        try writeFile(keys, allowed.publicKey + "\n", mode: 0o644)
        let repository = try remote.repository(url: try remote.daemonURL, allowedSignersFile: keys)

        let signed = try remote.commit(["a.yaml": "1\n"], message: "signed", gpgKey: allowed)
        try remote.push()
        #expect(try await repository.fetch().sha == signed)
        try await repository.verifySignature(signed)

        let unsigned = try remote.commit(["a.yaml": "2\n"], message: "unsigned")
        try remote.push()
        #expect(try await repository.fetch().sha == unsigned)
        #expect(await gitError { () async throws(GitError) in try await repository.verifySignature(unsigned) } == .signature("commit \(unsigned): it is not signed"))

        let foreign = try remote.commit(["a.yaml": "3\n"], message: "unknown key", gpgKey: unknown)
        try remote.push()
        #expect(try await repository.fetch().sha == foreign)
        let foreignError = await gitError { () async throws(GitError) in try await repository.verifySignature(foreign) }
        guard case .signature(let message) = foreignError else {
            Issue.record("expected signature, got \(String(describing: foreignError))")
            return
        }
        #expect(message.contains("not in \(keys)"), "\(message)")

        // An SSH signature is not checked against GPG keys
        let sshKey = try makeKey(in: try scratchFolder("ssh-key"), name: "ssh")
        let sshSigned = try remote.commit(["a.yaml": "4\n"], message: "ssh-signed", signingKey: sshKey.path)
        try remote.push()
        #expect(try await repository.fetch().sha == sshSigned)
        let sshError = await gitError { () async throws(GitError) in try await repository.verifySignature(sshSigned) }
        #expect(sshError != nil)
    }

    @Test func withoutAllowedSignersNothingIsChecked() async throws {
        let remote = try ScratchRemote()
        let unsigned = try remote.commit(["a.yaml": "1\n"], message: "unsigned")
        try remote.push()
        let repository = try remote.repository()
        _ = try await repository.fetch()
        try await repository.verifySignature(unsigned)
    }
}
