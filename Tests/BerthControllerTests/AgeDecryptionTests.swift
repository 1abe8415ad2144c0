import BerthController
import BerthCore
import Foundation
import Testing

/// A fresh age identity file (`age-keygen`) in a folder of its own, and its recipient.
private struct AgeKey {
    let folder: URL
    let identity: String
    let recipient: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-age-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        identity = folder.appendingPathComponent("key.txt").path
        _ = try Self.run("/usr/bin/age-keygen", ["-o", identity])
        recipient = try Self.run("/usr/bin/age-keygen", ["-y", identity]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    private static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

@Suite("Decrypting age-encrypted env values with the age command")
struct AgeDecryptionTests {
    @Test func anEncryptedValueAndAFileHoldingABlockDecryptWithTheIdentity() async throws {
        // given
        let key = try AgeKey()
        defer { key.remove() }
        let value = try await AgeTool.encrypt(Array("s3cr3t\n".utf8), recipients: [key.recipient], recipientsFiles: [])
        let file = key.folder.appendingPathComponent("file.age")
        try await AgeTool.encrypt(Array("from-a-file".utf8), recipients: [key.recipient], recipientsFiles: []).write(to: file, atomically: true, encoding: .utf8)
        let resolver = EnvironmentResolver(processEnvironment: [:], ageIdentityFile: key.identity)

        // when
        let resolved = try await resolver.resolve(["TOKEN": .encrypted(value), "KEY": .fromFile(file.path), "MODE": .literal("prod")])

        // then: one final newline removed, as for files
        #expect(resolved == ["TOKEN": "s3cr3t", "KEY": "from-a-file", "MODE": "prod"])
        #expect(value.hasPrefix(AgeArmor.header) && !value.contains("s3cr3t"))
    }

    @Test func anEncryptedFileOfAnUntrustedWriterIsRefusedNotDecrypted() async throws {
        // given
        let key = try AgeKey()
        defer { key.remove() }
        let file = key.folder.appendingPathComponent("file.age")
        try await AgeTool.encrypt(Array("from-a-file".utf8), recipients: [key.recipient], recipientsFiles: []).write(to: file, atomically: true, encoding: .utf8)
        let plain = key.folder.appendingPathComponent("plain.txt")
        try "not-encrypted\n".write(to: plain, atomically: true, encoding: .utf8)
        let resolver = EnvironmentResolver(processEnvironment: [:], ageIdentityFile: key.identity)
        // when / then: a plain file is still read; an encrypted one is refused, naming the rule
        #expect(try await resolver.resolve(["PLAIN": .fromFile(plain.path)], decryptingFiles: false) == ["PLAIN": "not-encrypted"])
        do {
            _ = try await resolver.resolve(["KEY": .fromFile(file.path)], decryptingFiles: false)
            Issue.record("an encrypted file was decrypted for an untrusted writer")
        } catch {
            #expect(error.message.contains("env.KEY"))
            #expect(error.message.contains("decryptSecrets"))
            #expect(!error.message.contains("from-a-file"))
        }
    }

    @Test func withoutAnIdentityTheErrorNamesTheVariableAndTheFlag() async throws {
        let key = try AgeKey()
        defer { key.remove() }
        let value = try await AgeTool.encrypt(Array("s3cr3t".utf8), recipients: [key.recipient], recipientsFiles: [])
        let error = await #expect(throws: ExecutionError.self) { try await EnvironmentResolver(processEnvironment: [:]).resolve(["TOKEN": .encrypted(value)]) }
        #expect(
            error?.message
                == "env.TOKEN: an age-encrypted value needs the controller's age identity; start it with --age-identity-file FILE (or BERTH_AGE_IDENTITY_FILE)")
    }

    @Test func theWrongKeyFailsWithAgesWordsAndNoPlaintext() async throws {
        // given: a value encrypted to one key, the controller holding another
        let key = try AgeKey(), other = try AgeKey()
        defer {
            key.remove()
            other.remove()
        }
        let value = try await AgeTool.encrypt(Array("s3cr3t".utf8), recipients: [key.recipient], recipientsFiles: [])

        // when
        let error = await #expect(throws: ExecutionError.self) {
            try await EnvironmentResolver(processEnvironment: [:], ageIdentityFile: other.identity).resolve(["TOKEN": .encrypted(value)])
        }

        // then
        let message = try #require(error?.message)
        #expect(message.hasPrefix("env.TOKEN: cannot decrypt an age-encrypted value with the identity \(other.identity): "), "\(message)")
        #expect(message.contains("no identity matched any of the recipients"), "\(message)")
        #expect(!message.contains("report unexpected"), "\(message)")
    }

    /// age exits before it reads its input when the identity file is missing: writing a large
    /// ciphertext then meets a closed pipe, which must fail the decryption, not end the process.
    @Test func aMissingIdentityFileFailsEvenWhenAgeLeavesItsInputUnread() async throws {
        let key = try AgeKey()
        defer { key.remove() }
        let value = try await AgeTool.encrypt(Array(repeating: 0x61, count: 60 * 1024), recipients: [key.recipient], recipientsFiles: [])
        let missing = key.folder.appendingPathComponent("missing.txt").path
        for _ in 0..<5 {
            let error = await #expect(throws: ExecutionError.self) {
                try await EnvironmentResolver(processEnvironment: [:], ageIdentityFile: missing).resolve(["TOKEN": .encrypted(value)])
            }
            #expect(error?.message.hasPrefix("env.TOKEN: cannot decrypt an age-encrypted value with the identity \(missing): ") == true, "\(error?.message ?? "")")
        }
    }

    @Test func aRunThatTakesTooLongIsStopped() async throws {
        // given: an identity age cannot finish with on its own: a FIFO nobody writes to
        let key = try AgeKey()
        defer { key.remove() }
        let fifo = key.folder.appendingPathComponent("fifo").path
        try #require(mkfifo(fifo, 0o600) == 0)
        let value = try await AgeTool.encrypt(Array("s3cr3t".utf8), recipients: [key.recipient], recipientsFiles: [])
        let clock = ContinuousClock()
        let start = clock.now

        // when
        let error = await #expect(throws: AgeError.self) { try await AgeTool.decrypt(value, identityFile: fifo, timeout: .milliseconds(500)) }

        // then
        #expect(error?.message == "age did not finish within 0.5 seconds and was stopped")
        #expect(clock.now - start < .seconds(10))
    }
}
