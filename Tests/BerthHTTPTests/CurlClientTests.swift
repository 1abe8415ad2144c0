import Foundation
import Testing

@testable import BerthHTTP

/// The client is exercised against the private dockerd's socket: a real HTTP server on a unix socket.
@Suite("libcurl client")
struct CurlClientTests {
    let socket: String

    init() throws {
        let host = try #require(ProcessInfo.processInfo.environment["BERTH_TEST_DOCKER_HOST"], "run the suite with scripts/test, which starts a private dockerd")
        socket = String(host.dropFirst("unix://".count))
    }

    func request(_ path: String, method: String = "GET", timeout: Duration? = .seconds(10), body: [UInt8]? = nil) -> HTTPRequest {
        HTTPRequest(method: method, url: "http://localhost\(path)", body: body, timeout: timeout, connection: .unixSocket(path: socket))
    }

    @Test func sendsManyRequestsConcurrentlyOnOneDriverThread() async throws {
        let client = CurlClient()
        let statuses = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for _ in 0..<64 {
                group.addTask {
                    let response = try await client.send(request("/_ping"))
                    return (response.status, String(decoding: response.body, as: UTF8.self))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.count == 64)
        #expect(statuses.allSatisfy { $0 == (200, "OK") })
    }

    @Test func returnsHeadersLowercasedAndErrorStatusesAsResponses() async throws {
        let client = CurlClient()
        let ping = try await client.send(request("/_ping", method: "HEAD"))
        let missing = try await client.send(request("/v1.41/containers/berth-no-such-container/json"))
        #expect(ping.status == 200 && ping.headers["api-version"] != nil)
        #expect(missing.status == 404)
        #expect(String(decoding: missing.body, as: UTF8.self).contains("berth-no-such-container"))
    }

    @Test func cancellingTheCallerAbortsALongRequestPromptly() async throws {
        let client = CurlClient()
        // A stream that stays open with nothing to send: the engine's event feed.
        let call = Task { try await client.send(request("/v1.41/events?filters=%7B%22label%22%3A%5B%22berth.none%3Dnone%22%5D%7D", timeout: nil)) }
        try await Task.sleep(for: .milliseconds(200))
        let started = Date()
        call.cancel()
        let result = await call.result
        // The stream never ends by itself; ending within seconds (on a loaded machine) is the point.
        #expect(Date().timeIntervalSince(started) < 30)
        #expect(throws: HTTPError.self) { try result.get() }
    }

    @Test func aRequestPastItsTimeoutFailsAsTimeout() async throws {
        let client = CurlClient()
        let error = await #expect(throws: HTTPError.self) {
            _ = try await client.send(request("/v1.41/events", timeout: .milliseconds(300)))
        }
        #expect(error?.kind == .timeout)
    }

    @Test func streamsTheBodyAsItIsWrittenAndStopsWhenIterationEnds() async throws {
        let client = CurlClient()
        let filter = "%7B%22volume%22%3A%5B%22berth-http-stream%22%5D%7D" // {"volume":["berth-http-stream"]}
        let response = try await client.stream(request("/v1.41/events?filters=\(filter)", timeout: nil))
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "application/json")

        let body = Array(#"{"Name": "berth-http-stream"}"#.utf8)
        var create = request("/v1.41/volumes/create", method: "POST", body: body)
        create.headers = [("Content-Type", "application/json")]
        _ = try await client.send(create)
        var received = ""
        for try await chunk in response.body {
            received += String(decoding: chunk, as: UTF8.self)
            if received.contains("berth-http-stream") { break }
        }
        _ = try await client.send(request("/v1.41/volumes/berth-http-stream", method: "DELETE"))
        #expect(received.contains(#""Action":"create""#))
    }

    @Test func aMissingSocketIsUnreachable() async throws {
        let client = CurlClient()
        let request = HTTPRequest(method: "GET", url: "http://localhost/_ping", connection: .unixSocket(path: "/tmp/berth-no-such.sock"))
        let error = await #expect(throws: HTTPError.self) { _ = try await client.send(request) }
        #expect(error?.kind == .unreachable)
    }

    @Test func postsABody() async throws {
        let client = CurlClient()
        let body = Array(#"{"Name": "berth-http-test-volume", "Labels": {"berth.test": "http"}}"#.utf8)
        var create = request("/v1.41/volumes/create", method: "POST", body: body)
        create.headers = [("Content-Type", "application/json")]
        let created = try await client.send(create)
        let removed = try await client.send(request("/v1.41/volumes/berth-http-test-volume", method: "DELETE"))
        #expect(created.status == 201)
        #expect(String(decoding: created.body, as: UTF8.self).contains("berth-http-test-volume"))
        #expect(removed.status == 204)
    }
}

@Suite("Header lines")
struct HeaderLineTests {
    @Test func aStatusLineAndHeadersAreReadWithoutTheSpacesAroundThem() {
        let transfer = Transfer(request: HTTPRequest(method: "GET", url: "http://localhost/", connection: .unixSocket(path: "/nowhere")))
        transfer.receiveHeader("HTTP/1.1 404 Not Found\r\n")
        transfer.receiveHeader("Content-Type:  application/json \r\n")
        transfer.receiveHeader("X-Empty:\r\n")
        #expect(transfer.status == 404)
        #expect(transfer.headers == ["content-type": "application/json", "x-empty": ""])
        #expect(Transfer.trimmed(" \t a b \r\n") == "a b")
        #expect(Transfer.trimmed("\r\n") == "")
    }
}
