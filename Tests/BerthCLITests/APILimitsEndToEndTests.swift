import Foundation
import Glibc
import Testing

/// The API's limits under load, on 127.0.0.1: half-sent requests, idle connections, followers
/// and slow readers; each test checks that the server still answers while the load runs.
@Suite("API limits end to end", .serialized) struct APILimitsEndToEndTests {
    @Test func halfSentRequestsAreClosedAfterTheIdleTimeoutWhileTheServerAnswers() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write("")
        try scenario.startServe(["--idle-timeout", "2s"])
        let url = try await scenario.apiURL()

        // when: 300 connections each send half a request's head
        let connections = try (0..<300).map { _ in
            let connection = try RawConnection(url)
            connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            return connection
        }

        // then: a GET is answered meanwhile, and the server closes all 300 within 15 s
        #expect(await Scenario.curl(["-sS", "--max-time", "2", url + "/healthz"]).contains("\"ok\""))
        try await scenario.eventually(15, "the server closes every half-sent request") { connections.allSatisfy(\.isClosedByServer) }
        #expect(await Scenario.curl(["-sS", "--max-time", "2", url + "/healthz"]).contains("\"ok\""))
    }

    @Test func connectionsBeyondTheCapWaitUntilOneCloses() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: 20 connections open, the cap
        try scenario.write("")
        // An idle timeout far beyond the test: a test process starved for a minute under load must
        // not see the server close the 20 idle connections and free a slot (it did once).
        try scenario.startServe(["--max-connections", "20", "--idle-timeout", "10m"])
        let url = try await scenario.apiURL()
        var connections = try (0..<20).map { _ in try RawConnection(url) }
        // Each answered once and kept open: all 20 accepted by the server (on a loaded machine
        // some could still wait in the kernel's backlog, and the 21st be accepted before them).
        for connection in connections {
            connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            try await connection.awaitAnswer(within: .seconds(30))
        }

        // when
        let waiting = await Scenario.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", url + "/healthz"])
        connections.removeAll()

        // then: the 21st waited (no answer in 2 s); once the others closed it is served
        #expect(waiting == "000", "\(waiting)")
        // (The server learns of the 20 closes and then accepts the waiting one: seconds on a loaded
        // machine, so the bound is generous; the signal is the 200.)
        try await scenario.eventually(60, "a connection is served again") {
            await Scenario.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", url + "/healthz"]) == "200"
        }
    }

    @Test func followersAreCappedPerTokenAndInAll() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: three tokens, room for two followers and one per token, and events to follow
        try scenario.write("")
        try scenario.startServe(["--max-followers", "2", "--max-followers-per-token", "1"] + Scenario.jobServeOptions)
        let url = try await scenario.apiURL()
        var tokens: [String] = []
        for name in ["a", "b", "c"] {
            let created = try await scenario.berth("token", "create", "--name", "follower-\(name)", "--scope", "read")
            try #require(created.status == 0, "\(created.stderr)")
            tokens.append(created.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        _ = try await scenario.ended(try await scenario.submit(jobYAML(scenario, "seen", command: "true"))[0])
        let stream = "\(url)/v1/events?project=\(scenario.project)&follow=true"
        func status(_ token: String) async -> String {
            await Scenario.curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2", "-H", "Authorization: Bearer \(token)", stream])
        }

        // when: a follows, then b
        let first = try Follower(scenario, token: tokens[0], url: stream)
        defer { first.stop() }
        try await scenario.eventually(30, "the first follower reads events") { first.output.contains("event: event") }
        let second = try Follower(scenario, token: tokens[1], url: stream)
        defer { second.stop() }
        try await scenario.eventually(30, "the second follower reads events") { second.output.contains("event: event") }

        // then: a's second stream is 429, c's is 503, each with Retry-After and the error shape
        let again = await Scenario.curl(["-s", "-i", "--max-time", "5", "-H", "Authorization: Bearer \(tokens[0])", stream])
        let full = await Scenario.curl(["-s", "-i", "--max-time", "5", "-H", "Authorization: Bearer \(tokens[2])", stream])
        #expect(again.hasPrefix("HTTP/1.1 429") && again.lowercased().contains("retry-after: ") && again.contains("\"rate_limited\""), "\(again)")
        #expect(full.hasPrefix("HTTP/1.1 503") && full.lowercased().contains("retry-after: ") && full.contains("\"unavailable\""), "\(full)")
        #expect(await Scenario.curl(["-sS", "--max-time", "2", url + "/healthz"]).contains("\"ok\""))

        // and: once a stops, c may follow
        first.stop()
        // (the server notices a reader that left when a write fails: the second keep-alive after
        // it left, 10 s apart, so within about 20 s)
        try await scenario.eventually(45, "c follows once a stopped") { await status(tokens[2]) == "200" }
    }

    @Test func aReaderThatFallsBehindIsDroppedWithALastEvent() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given: a job writing 300,000 lines fast, and a follower that reads nothing while it runs
        try scenario.write("")
        try scenario.startServe(Scenario.jobServeOptions)
        let url = try await scenario.apiURL()
        let created = try await scenario.berth("token", "create", "--name", "slow", "--scope", "read")
        try #require(created.status == 0, "\(created.stderr)")
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let id = try await scenario.submit(jobYAML(scenario, "loud", command: "sleep 2; yes berth-slow-reader-line | head -n 300000"))[0]
        let reader = try RawConnection(url, receiveBuffer: 4096)
        reader.send("GET /v1/jobs/\(id)/logs?follow=true HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n")

        // when: the job ends while the reader reads nothing
        _ = try await scenario.ended(id, within: 120)
        #expect(await Scenario.curl(["-sS", "--max-time", "2", url + "/healthz"]).contains("\"ok\""), "the server answers meanwhile")

        // then: reading on, the stream ends with `dropped`, not with the job's end
        let text = try await reader.readToEnd(within: .seconds(60))
        #expect(text.contains("event: dropped\r\ndata: ") || text.contains("event: dropped\ndata: "), "\(text.suffix(300))")
        #expect(!text.contains("event: end"), "\(text.suffix(300))")
    }
}

extension Scenario {
    /// Runs curl and returns its standard output whatever its exit status (a timeout is an answer here).
    static func curl(_ arguments: [String]) async -> String {
        (try? await BerthProcess.runCommand(["/usr/bin/curl"] + arguments, timeout: 120))?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }
}

/// A `curl -N` following a stream into a file until `stop()` (at most 60 s).
final class Follower: Sendable {
    private let process: ChildProcess
    private let file: URL

    /// `headers`: more request headers (`Last-Event-ID: 12`).
    init(_ scenario: Scenario, token: String, url: String, headers: [String] = []) throws {
        file = scenario.folder.appendingPathComponent("follow-\(UUID().uuidString)")
        let headerArguments = (["Authorization: Bearer \(token)"] + headers).flatMap { ["-H", $0] }
        process = try scenario.launch(["/usr/bin/curl", "-sN", "--max-time", "60"] + headerArguments + [url], stdout: file)
    }

    var output: String { (try? String(contentsOf: file, encoding: .utf8)) ?? "" }

    /// Ends the follower (SIGKILL) without waiting for it: `finish()` reaps what is left.
    func stop() {
        process.signal(SIGKILL)
    }
}

/// A plain TCP connection to the API's port on 127.0.0.1, for what no HTTP client does on
/// purpose: sending half a request, holding a connection idle, not reading.
final class RawConnection: @unchecked Sendable {
    private let descriptor: Int32

    /// `receiveBuffer`: a small kernel buffer, so a reader that does not read is behind soon.
    init(_ url: String, receiveBuffer: Int32? = nil) throws {
        guard let port = URLComponents(string: url)?.port, url.hasPrefix("http://127.0.0.1:") else {
            throw BerthProcess.SetupError("not an http://127.0.0.1 URL: \(url)")
        }
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            throw BerthProcess.SetupError("cannot connect to \(url): errno \(errno)")
        }
    }

    deinit { close(descriptor) }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Whether the server closed the connection: readable at once, and a peek finds its end.
    var isClosedByServer: Bool {
        var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&ready, 1, 0) > 0 else { return false }
        var byte: UInt8 = 0
        return recv(descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) <= 0
    }

    /// Waits until the server has sent something (the start of an answer); fails after `within`.
    func awaitAnswer(within limit: Duration) async throws {
        let deadline = ContinuousClock.now + limit
        var byte: UInt8 = 0
        while ContinuousClock.now < deadline {
            if recv(descriptor, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BerthProcess.SetupError("the server sent nothing within \(limit)")
    }

    /// Everything until the server closes the connection or ends the chunked response, read
    /// with a larger buffer from now on; fails after `within`.
    func readToEnd(within limit: Duration) async throws -> String {
        var size: Int32 = 1 << 20
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let deadline = ContinuousClock.now + limit
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while ContinuousClock.now < deadline {
            // Never blocks: nothing to read yet is waited for with `Task.sleep`.
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                try await Task.sleep(for: .milliseconds(50))
                continue
            }
            if count <= 0 { return String(decoding: bytes, as: UTF8.self) }
            bytes += chunk[..<count]
            if bytes.count >= 5, bytes.suffix(5).elementsEqual("0\r\n\r\n".utf8) { return String(decoding: bytes, as: UTF8.self) }
        }
        throw BerthProcess.SetupError("the server did not end the response within \(limit); \(bytes.count) bytes read")
    }
}
