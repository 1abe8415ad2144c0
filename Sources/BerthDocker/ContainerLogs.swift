/// Which output stream a log frame came from.
public enum LogStream: UInt8, Sendable, Hashable {
    case stdin = 0
    case stdout = 1
    case stderr = 2
}

/// One frame of a container's multiplexed output.
public struct LogFrame: Sendable, Hashable {
    public var stream: LogStream
    public var bytes: [UInt8]

    public init(stream: LogStream, bytes: [UInt8]) {
        self.stream = stream
        self.bytes = bytes
    }
}

/// A container's standard output and error, separated.
public struct ContainerLogs: Sendable, Hashable {
    public var stdout: [UInt8] = []
    public var stderr: [UInt8] = []

    public init(stdout: [UInt8] = [], stderr: [UInt8] = []) {
        self.stdout = stdout
        self.stderr = stderr
    }

    mutating func append(_ frame: LogFrame) {
        if frame.stream == .stderr { stderr += frame.bytes } else { stdout += frame.bytes }
    }
}

/// Decodes the engine's multiplexed log stream (containers without a TTY): each frame is an
/// 8-byte header — stream type, three zero bytes, a big-endian 32-bit length — then the payload.
/// Frames may be split across chunks; incomplete input waits for the next chunk.
///
/// A container with a TTY (`tty: true`) has one stream, sent raw. Such a stream is told apart by
/// its start, which is no frame header (a type 0–2, then three zero bytes); all of it is stdout.
struct LogDemultiplexer {
    private var pending: [UInt8] = []
    /// Whether the stream is raw; `nil` until its first bytes tell.
    private var raw: Bool?

    mutating func feed(_ chunk: [UInt8]) -> [LogFrame] {
        pending += chunk
        if raw == nil, let first = pending.first {
            if first > 2 || (pending.count >= 4 && pending[1..<4].contains { $0 != 0 }) {
                raw = true
            } else if pending.count >= 4 {
                raw = false
            }
        }
        if raw == true {
            defer { pending.removeAll() }
            return pending.isEmpty ? [] : [LogFrame(stream: .stdout, bytes: pending)]
        }
        var frames: [LogFrame] = []
        var offset = 0
        while pending.count - offset >= 8 {
            let length = pending[(offset + 4)..<(offset + 8)].reduce(0) { $0 << 8 | Int($1) }
            guard pending.count - offset - 8 >= length else { break }
            let stream = LogStream(rawValue: pending[offset]) ?? .stdout
            frames.append(LogFrame(stream: stream, bytes: Array(pending[(offset + 8)..<(offset + 8 + length)])))
            offset += 8 + length
        }
        pending.removeFirst(offset)
        return frames
    }
}
