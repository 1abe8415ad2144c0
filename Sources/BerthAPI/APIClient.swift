import BerthHTTP
import Foundation

/// A client of Berth's HTTP API over libcurl, as the CLI uses it with `--server`.
public struct APIClient: Sendable {
    /// `http://127.0.0.1:7700`, without a trailing slash.
    public var server: String
    public var token: String?
    private let http: CurlClient

    public init(server: String, token: String?) throws(APIClientError) {
        guard server.hasPrefix("http://") || server.hasPrefix("https://") else {
            throw APIClientError(status: nil, code: "usage", message: "the server is an http:// or https:// URL, found \"\(server)\"", field: nil)
        }
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.token = token
        http = CurlClient(name: "berth-api-client")
    }

    /// Sends a request and decodes a 2xx answer as `T`; any other status throws the API's error.
    public func call<T: Decodable>(
        _ method: String, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil, contentType: String? = nil,
        headers: [(name: String, value: String)] = [], as type: T.Type
    ) async throws(APIClientError) -> T {
        let data = try await raw(method, path, query: query, body: body, contentType: contentType, headers: headers)
        do {
            return try APIJSON.decoder().decode(T.self, from: Data(data.body))
        } catch {
            throw APIClientError(status: data.status, code: "client", message: "the server's answer to \(method) \(path) could not be read: \(error)", field: nil)
        }
    }

    /// Sends a request; a 2xx answer's status and body, any other status throws the API's error.
    public func raw(
        _ method: String, _ path: String, query: [(String, String)] = [], body: [UInt8]? = nil, contentType: String? = nil,
        headers: [(name: String, value: String)] = []
    ) async throws(APIClientError) -> (status: Int, body: [UInt8]) {
        let response: BerthHTTP.HTTPResponse
        do {
            response = try await http.send(request(method, path, query: query, body: body, contentType: contentType, headers: headers))
        } catch {
            throw APIClientError(status: nil, code: "unreachable", message: "cannot reach the Berth API at \(server): \(error)", field: nil)
        }
        guard (200..<300).contains(response.status) else { throw APIClientError(response.status, response.body) }
        return (response.status, response.body)
    }

    /// A 2xx answer's body as it arrives (`logs?full=true`); any other status throws the API's error.
    public func stream(_ path: String, query: [(String, String)] = []) async throws(APIClientError) -> AsyncThrowingStream<[UInt8], any Error> {
        let response = try await open(path, query: query, accept: "*/*")
        return response.body
    }

    /// Opens a streamed GET and checks its status.
    private func open(_ path: String, query: [(String, String)], accept: String) async throws(APIClientError) -> HTTPStreamResponse {
        let response: HTTPStreamResponse
        do {
            var request = request("GET", path, query: query, body: nil, contentType: nil, headers: [("Accept", accept)])
            request.timeout = nil
            response = try await http.stream(request)
        } catch {
            throw APIClientError(status: nil, code: "unreachable", message: "cannot reach the Berth API at \(server): \(error)", field: nil)
        }
        guard (200..<300).contains(response.status) else {
            var body: [UInt8] = []
            do {
                for try await chunk in response.body { body += chunk }
            } catch {}
            throw APIClientError(response.status, body)
        }
        return response
    }

    /// Opens a server-sent event stream (`follow=true` routes); each element is one event.
    public func events(_ path: String, query: [(String, String)] = []) async throws(APIClientError) -> AsyncThrowingStream<ServerSentEvent, any Error> {
        let response = try await open(path, query: query, accept: "text/event-stream")
        return AsyncThrowingStream { continuation in
            let task = Task {
                var parser = ServerSentEventParser()
                do {
                    for try await chunk in response.body {
                        for event in parser.feed(chunk) { continuation.yield(event) }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func request(
        _ method: String, _ path: String, query: [(String, String)], body: [UInt8]?, contentType: String?, headers: [(name: String, value: String)]
    ) -> HTTPRequest {
        var components = URLComponents()
        components.queryItems = query.isEmpty ? nil : query.map { URLQueryItem(name: $0.0, value: $0.1) }
        let suffix = components.percentEncodedQuery.map { "?" + $0.replacingOccurrences(of: "+", with: "%2B") } ?? ""
        var fields = headers
        if let token { fields.append(("Authorization", "Bearer \(token)")) }
        if let contentType { fields.append(("Content-Type", contentType)) }
        return HTTPRequest(method: method, url: server + path + suffix, headers: fields, body: body)
    }
}

/// An error answer of the API (`{"error": {…}}`), or why there was no answer.
public struct APIClientError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status, nil when no answer came.
    public var status: Int?
    public var code: String
    public var message: String
    public var field: String?

    public init(status: Int?, code: String, message: String, field: String?) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    init(_ status: Int, _ body: [UInt8]) {
        if let decoded = try? JSONDecoder().decode(APIError.Body.self, from: Data(body)) {
            self.init(status: status, code: decoded.error.code, message: decoded.error.message, field: decoded.error.field)
        } else {
            self.init(status: status, code: "http_\(status)", message: "the server answered \(status): \(String(decoding: body.prefix(500), as: UTF8.self))", field: nil)
        }
    }

    public var description: String {
        field.map { "\(message) (field \($0))" } ?? message
    }
}

/// One server-sent event.
public struct ServerSentEvent: Sendable, Hashable {
    public var name: String
    public var id: String?
    public var data: String
}

/// Splits a `text/event-stream` into events as chunks arrive; lines end with CRLF, LF or CR, as
/// the event-stream format says (a CR at the end of one chunk and an LF at the start of the next
/// end one line).
struct ServerSentEventParser {
    private var line: [UInt8] = []
    private var afterCarriageReturn = false
    private var name = "message"
    private var id: String?
    private var data: [String] = []

    mutating func feed(_ chunk: [UInt8]) -> [ServerSentEvent] {
        let carriageReturn = UInt8(ascii: "\r"), lineFeed = UInt8(ascii: "\n")
        var events: [ServerSentEvent] = []
        for byte in chunk {
            if afterCarriageReturn {
                afterCarriageReturn = false
                if byte == lineFeed { continue }
            }
            guard byte == carriageReturn || byte == lineFeed else {
                line.append(byte)
                continue
            }
            afterCarriageReturn = byte == carriageReturn
            if let event = take(String(decoding: line, as: UTF8.self)) { events.append(event) }
            line.removeAll(keepingCapacity: true)
        }
        return events
    }

    /// Takes one line; a blank one ends the event, which is returned when it had data.
    private mutating func take(_ line: String) -> ServerSentEvent? {
        guard !line.isEmpty else {
            defer {
                name = "message"
                data = []
            }
            return data.isEmpty ? nil : ServerSentEvent(name: name, id: id, data: data.joined(separator: "\n"))
        }
        let (field, value) = Self.split(line)
        switch field {
        case "event": name = value
        case "id": id = value
        case "data": data.append(value)
        default: break
        }
        return nil
    }

    private static func split(_ line: String) -> (String, String) {
        guard let colon = line.firstIndex(of: ":") else { return (line, "") }
        var value = line[line.index(after: colon)...]
        if value.hasPrefix(" ") { value = value.dropFirst() }
        return (String(line[..<colon]), String(value))
    }
}
