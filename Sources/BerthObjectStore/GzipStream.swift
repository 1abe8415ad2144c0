import CZlib

/// Gzip compression and decompression in chunks (zlib's stream API): a log is compressed as it
/// is read and decompressed as it is sent, never held whole uncompressed. The zlib stream lives
/// at a fixed address (allocated once), as zlib requires; every pointer use stays in this file.
public final class GzipStream {
    /// Which way the bytes go.
    public enum Direction: Sendable { case compress, decompress }

    private let direction: Direction
    private let stream: UnsafeMutablePointer<z_stream>
    private var ended = false

    public init(_ direction: Direction) throws(S3Error) {
        self.direction = direction
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let status = direction == .compress ? berth_gzip_deflate_init(stream) : berth_gzip_inflate_init(stream)
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw S3Error(.invalidResponse, "zlib could not start (\(status))", operation: "gzip")
        }
    }

    deinit {
        if direction == .compress { deflateEnd(stream) } else { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Feeds `input`; returns what came out of it so far.
    public func process(_ input: [UInt8]) throws(S3Error) -> [UInt8] {
        try run(input, finish: false)
    }

    /// Ends the stream: the compressor's trailer, or a check that the compressed input was complete.
    public func finish() throws(S3Error) -> [UInt8] {
        try run([], finish: true)
    }

    private func run(_ input: [UInt8], finish: Bool) throws(S3Error) -> [UInt8] {
        guard !ended else { return [] }
        var output: [UInt8] = []
        var failure: Int32?
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var source = input
        source.withUnsafeMutableBufferPointer { inputBytes in
            stream.pointee.next_in = inputBytes.baseAddress
            stream.pointee.avail_in = UInt32(inputBytes.count)
            while true {
                let (status, produced) = buffer.withUnsafeMutableBufferPointer { outputBytes -> (Int32, Int) in
                    stream.pointee.next_out = outputBytes.baseAddress
                    stream.pointee.avail_out = UInt32(outputBytes.count)
                    let status =
                        direction == .compress
                        ? deflate(stream, finish ? Z_FINISH : Z_NO_FLUSH)
                        : inflate(stream, Z_NO_FLUSH)
                    return (status, outputBytes.count - Int(stream.pointee.avail_out))
                }
                output.append(contentsOf: buffer[0..<produced])
                if status == Z_STREAM_END {
                    ended = true
                    break
                }
                if status == Z_BUF_ERROR && produced == 0 {
                    // No progress possible: all input taken. A decompressor told to finish here
                    // saw a truncated stream.
                    if finish && direction == .decompress { failure = status }
                    break
                }
                guard status == Z_OK || status == Z_BUF_ERROR else {
                    failure = status
                    break
                }
                if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 && !(finish && direction == .compress) { break }
            }
            stream.pointee.next_in = nil
            stream.pointee.avail_in = 0
        }
        if let failure {
            throw S3Error(.invalidResponse, "the gzip stream is \(failure == Z_BUF_ERROR ? "truncated" : "corrupt") (zlib \(failure))", operation: "gzip")
        }
        if finish, direction == .decompress, !ended {
            throw S3Error(.invalidResponse, "the gzip stream is truncated", operation: "gzip")
        }
        return output
    }
}

extension GzipStream {
    /// The decompressed bytes of a gzip body, chunk by chunk as `compressed` yields them.
    public static func decompressing(_ compressed: AsyncThrowingStream<[UInt8], any Error>) -> AsyncThrowingStream<[UInt8], any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let gunzip = try GzipStream(.decompress)
                    for try await chunk in compressed {
                        let plain = try gunzip.process(chunk)
                        if !plain.isEmpty { continuation.yield(plain) }
                    }
                    let rest = try gunzip.finish()
                    if !rest.isEmpty { continuation.yield(rest) }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
