import BerthObjectStore
import Foundation
import Testing

/// Gzip in chunks: what the log archive writes and the log readers decompress.
@Suite struct GzipStreamTests {
    /// Compresses `input` in chunks of `chunk` bytes.
    private func compress(_ input: [UInt8], chunk: Int) throws -> [UInt8] {
        let gzip = try GzipStream(.compress)
        var output: [UInt8] = []
        var offset = 0
        while offset < input.count {
            output += try gzip.process(Array(input[offset..<min(input.count, offset + chunk)]))
            offset += chunk
        }
        return output + (try gzip.finish())
    }

    private func decompress(_ input: [UInt8], chunk: Int) throws -> [UInt8] {
        let gunzip = try GzipStream(.decompress)
        var output: [UInt8] = []
        var offset = 0
        while offset < input.count {
            output += try gunzip.process(Array(input[offset..<min(input.count, offset + chunk)]))
            offset += chunk
        }
        return output + (try gunzip.finish())
    }

    @Test(arguments: [0, 1, 70_000, 3_000_000])
    func aRoundTripGivesBackEveryByteWhateverTheChunks(size: Int) throws {
        var generator = SystemRandomNumberGenerator()
        // Half random (incompressible), half repetitive.
        let input = (0..<size).map { $0 % 2 == 0 ? UInt8.random(in: 0...255, using: &generator) : UInt8($0 % 7) }
        let compressed = try compress(input, chunk: 65_536)
        #expect(compressed.starts(with: [0x1f, 0x8b]), "a gzip member")
        #expect(try decompress(compressed, chunk: 1000) == input)
        #expect(try decompress(compressed, chunk: 1 << 20) == input)
    }

    @Test func gzipWrittenByTheSystemToolIsRead() throws {
        let text = Array(String(repeating: "line of text\n", count: 1000).utf8)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("gzip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("text")
        try Data(text).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-k", file.path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
        #expect(try decompress(Array(Data(contentsOf: folder.appendingPathComponent("text.gz"))), chunk: 100) == text)
    }

    @Test func aTruncatedOrCorruptStreamIsAnError() throws {
        let compressed = try compress(Array(String(repeating: "abc", count: 10_000).utf8), chunk: 4096)
        #expect(throws: S3Error.self) { try decompress(Array(compressed.dropLast(8)), chunk: 512) }
        var corrupt = compressed
        corrupt[12] ^= 0xff
        #expect(throws: S3Error.self) { try decompress(corrupt, chunk: 512) }
    }
}
