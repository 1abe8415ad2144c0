import Foundation
import Glibc
import Synchronization

/// A tiny HTTP server on 127.0.0.1 for webhook tests: one request per connection, answered with
/// the status `answer` gives for the request's position (0, 1, …); every request is kept.
final class WebhookReceiver: Sendable {
    /// One request as received.
    struct Request: Sendable {
        var path: String
        /// Header names lowercased.
        var headers: [String: String]
        var body: [UInt8]
        var receivedAt: Date
    }

    let port: Int
    private let socket: Int32
    private let received = Mutex<[Request]>([])

    init(answer: @escaping @Sendable (Int) -> Int) throws {
        let listener = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw BerthProcess.SetupError("socket: \(errno)") }
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(listener, 16) == 0 else { throw BerthProcess.SetupError("bind/listen: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
        socket = listener
        Thread.detachNewThread { self.serve(answer) }
    }

    /// Accepts until the socket closes.
    private func serve(_ answer: @Sendable (Int) -> Int) {
        while true {
            let connection = accept(socket, nil, nil)
            guard connection >= 0 else { return }
            if let request = Self.read(connection) {
                let index = received.withLock { requests in
                    requests.append(request)
                    return requests.count - 1
                }
                let reply = Array("HTTP/1.1 \(answer(index)) Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
                _ = reply.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            close(connection)
        }
    }

    /// Every request so far, in order.
    var requests: [Request] { received.withLock { $0 } }

    /// Stops accepting (the accept loop ends).
    func stop() {
        shutdown(socket, Int32(SHUT_RDWR))
        close(socket)
    }

    /// Reads one request: headers up to the blank line, then `Content-Length` bytes.
    private static func read(_ connection: Int32) -> Request? {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        var expected = Int.max
        while data.count < expected {
            let count = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            data += chunk[0..<count]
            if headerEnd == nil, let end = data.indices.dropLast(3).first(where: { data[$0] == 13 && data[$0 + 1] == 10 && data[$0 + 2] == 13 && data[$0 + 3] == 10 }) {
                headerEnd = end + 4
                let head = String(decoding: data[0..<end], as: UTF8.self)
                let length =
                    head.split(separator: "\r\n").dropFirst().compactMap { line -> Int? in
                        let parts = line.split(separator: ":", maxSplits: 1)
                        return parts.count == 2 && parts[0].lowercased() == "content-length" ? Int(parts[1].trimmingCharacters(in: .whitespaces)) : nil
                    }.first ?? 0
                expected = end + 4 + length
            }
        }
        guard let headerEnd, data.count >= expected else { return nil }
        let lines = String(decoding: data[0..<(headerEnd - 4)], as: UTF8.self).split(separator: "\r\n")
        let path = lines.first?.split(separator: " ").dropFirst().first.map(String.init) ?? ""
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { headers[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return Request(path: path, headers: headers, body: Array(data[headerEnd..<expected]), receivedAt: Date())
    }
}
