import BerthCore
import Foundation
import Testing

@testable import BerthStore

/// SQLite on a file system that fills up: a write is refused with a retryable `storageFull`
/// naming the file, the file stays whole, and writes succeed again once there is space. The file
/// system is a 4 MiB tmpfs mounted in the test's own folder (the tests run as root), unmounted
/// on every path.
@Suite("SQLite on a full disk")
struct SQLiteDiskFullTests {
    @Test func aFullDiskIsARetryableStatusAndWritesResumeWhenSpaceReturns() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-full-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", folder.path])
        do {
            try await fillAndRecover(folder)
        } catch {
            try? run("/usr/bin/umount", [folder.path])
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
        try run("/usr/bin/umount", [folder.path])
        try FileManager.default.removeItem(at: folder)
    }

    private func fillAndRecover(_ folder: URL) async throws {
        // given: a store, and a file taking what space is left
        let path = folder.appendingPathComponent("berth.sqlite").path
        let store = try await SQLiteStore.open(SQLiteStore.Configuration(path: path))
        var acknowledged: [String] = []
        acknowledged.append(try await store.submitJob(try submission(name: "before"), now: Date()).job.id)
        let filler = folder.appendingPathComponent("filler")
        _ = FileManager.default.createFile(atPath: filler.path, contents: nil)
        let handle = try FileHandle(forWritingTo: filler)
        let chunk = Data(repeating: 0x2a, count: 64 * 1024)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        try? handle.close()

        // when: submissions until one is refused (each carries 32 KiB, so a few fill any slack)
        let big = String(repeating: "x", count: 32 * 1024)
        var refusal: StoreError?
        for index in 0..<200 where refusal == nil {
            do {
                let spec = JobSpec(container: ContainerSpec(image: try ImageReference(parsing: "example/worker:3"), command: ["echo", big]))
                let job = try await store.submitJob(JobSubmission(project: "qfield", name: "j\(index)", spec: spec), now: Date()).job
                acknowledged.append(job.id)
            } catch let error as StoreError {
                refusal = error
            }
        }

        // then: a clear, retryable status naming the file
        let error = try #require(refusal, "no write was refused on a full disk")
        #expect(error.code == .storageFull && error.isRetryable, "\(error)")
        #expect(error.message.contains(path), "\(error.message)")
        // reads still work, and every acknowledged job is there
        for id in acknowledged { #expect(try await store.job(id) != nil) }

        // when: space returns
        try FileManager.default.removeItem(at: filler)
        let after = try await store.submitJob(try submission(name: "after"), now: Date()).job
        acknowledged.append(after.id)
        await store.close()

        // then: the file reopens whole, with every acknowledged job
        let reopened = try await SQLiteStore.open(SQLiteStore.Configuration(path: path))
        let check = try await reopened.queryForTesting("PRAGMA integrity_check")
        #expect(check.first?.first == "ok", "\(check)")
        for id in acknowledged { #expect(try await reopened.job(id) != nil) }
        await reopened.close()
    }

    private func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw SetupError("\(tool) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus) (the test needs root to mount a tmpfs)")
        }
    }
}
