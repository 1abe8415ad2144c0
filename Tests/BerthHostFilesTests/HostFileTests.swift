import BerthHostFiles
import Foundation
import Synchronization
import Testing

/// A fresh temporary folder, removed after `body`.
private func withTemporaryFolder(_ body: (String) throws -> Void) throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-hostfiles-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try body(folder)
}

/// Runs `body` on a thread of its own and waits at most `seconds` for it: a read that blocks
/// (a FIFO's open, `/dev/zero` read to its end) fails the test instead of hanging the suite.
private func withinSeconds<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () -> T) -> T? {
    let done = DispatchSemaphore(value: 0)
    let result = ResultBox<T>()
    Thread.detachNewThread {
        let value = body()
        result.value.withLock { $0 = value }
        done.signal()
    }
    guard done.wait(timeout: .now() + seconds) == .success else { return nil }
    return result.value.withLock { $0 }
}

/// What the thread of `withinSeconds` found.
private final class ResultBox<T: Sendable>: Sendable {
    let value = Mutex<T?>(nil)
}

private func mode(_ path: String) throws -> Int {
    try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1
}

@Suite("Host files: regular files only, bounded, no symbolic links")
struct HostFileTests {
    @Test func readsARegularFileWithItsMode() throws {
        try withTemporaryFolder { folder in
            // given
            let path = folder + "/value"
            try Data("s3cr3t".utf8).write(to: URL(fileURLWithPath: path))
            #expect(chmod(path, 0o640) == 0)
            // when
            let contents = try HostFile.read(path, limit: HostFile.valueLimit)
            // then
            #expect(contents.bytes == Array("s3cr3t".utf8))
            #expect(contents.mode == 0o640)
        }
    }

    @Test func refusesDevicesFIFOsSocketsAndFoldersWithoutWaiting() throws {
        try withTemporaryFolder { folder in
            // given: a FIFO nobody writes to, a listening unix socket
            let fifo = folder + "/fifo", socketPath = folder + "/socket"
            #expect(mkfifo(fifo, 0o600) == 0)
            let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(listener) }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(socketPath.utf8) + [0]) }
            let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            #expect(bound == 0 && listen(listener, 1) == 0)
            let cases = [
                ("/dev/zero", "/dev/zero is a character device, expected a regular file"),
                (fifo, "\(fifo) is a FIFO (named pipe), expected a regular file"),
                (socketPath, "\(socketPath) is a socket, expected a regular file"),
                (folder, "\(folder) is a folder, expected a regular file"),
            ]
            for (path, message) in cases {
                // when: bounded, should the read block
                let outcome = withinSeconds(10) { () -> String in
                    do throws(HostFileError) {
                        return "read \(try HostFile.read(path, limit: HostFile.valueLimit).bytes.count) bytes"
                    } catch {
                        return error.message
                    }
                }
                // then
                #expect(outcome == message)
            }
        }
    }

    @Test func refusesALinkAndAFileAboveTheLimit() throws {
        try withTemporaryFolder { folder in
            // given
            let target = folder + "/target", link = folder + "/link"
            try Data(repeating: 0x61, count: 101).write(to: URL(fileURLWithPath: target))
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
            // then
            #expect(throws: HostFileError.self) { try HostFile.read(link, limit: 1000) }
            #expect(try HostFile.read(link, limit: 1000, followingLinks: true).bytes.count == 101)
            let tooLarge = #expect(throws: HostFileError.self) { try HostFile.read(target, limit: 100) }
            #expect(tooLarge?.message == "\(target) is larger than 100 bytes, the most Berth reads from it")
            let missing = #expect(throws: HostFileError.self) { try HostFile.read(folder + "/none", limit: 100) }
            #expect(missing?.isMissing == true)
        }
    }

    @Test func aFolderIsReachedWithoutLinksAndMadeOwnerOnly() throws {
        try withTemporaryFolder { folder in
            // given: a link to another folder on the way
            try FileManager.default.createDirectory(atPath: folder + "/real", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: folder + "/link", withDestinationPath: folder + "/real")
            // when
            let linked = #expect(throws: HostFileError.self) { _ = try HostFolder(folder + "/link/deeper", creating: 0o700) }
            let made = try HostFolder(folder + "/new/deeper", creating: 0o700)
            // then
            #expect(linked?.message == "\(folder)/link is a symbolic link; Berth does not follow links here: name the file or folder it points to")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/real").isEmpty)
            #expect(try mode(folder + "/new") == 0o700)
            #expect(try mode(folder + "/new/deeper") == 0o700)
            #expect(try !made.contains("key.pem"))
            #expect((#expect(throws: HostFileError.self) { _ = try HostFolder(folder + "/absent") })?.isMissing == true)
        }
    }

    @Test func aWriteSetsTheModeExactlyAndReplacesALinkInsteadOfFollowingIt() throws {
        try withTemporaryFolder { folder in
            // given: key.pem is a link to a file elsewhere; the umask would make the certificate owner-only
            let outside = folder + "/outside"
            try Data("someone else's".utf8).write(to: URL(fileURLWithPath: outside))
            try FileManager.default.createDirectory(atPath: folder + "/certs", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: folder + "/certs/key.pem", withDestinationPath: outside)
            let certs = try HostFolder(folder + "/certs")
            // when
            let previous = umask(0o077)
            defer { umask(previous) }
            try certs.write("key.pem", Array("key".utf8), mode: 0o600)
            try certs.write("cert.pem", Array("cert".utf8), mode: 0o644)
            // then
            #expect(try String(contentsOfFile: outside, encoding: .utf8) == "someone else's")
            #expect(try certs.read("key.pem", limit: 100).bytes == Array("key".utf8))
            #expect(try mode(folder + "/certs/key.pem") == 0o600)
            #expect(try mode(folder + "/certs/cert.pem") == 0o644)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/certs").sorted() == ["cert.pem", "key.pem"], "no temporary file left")
        }
    }
}
