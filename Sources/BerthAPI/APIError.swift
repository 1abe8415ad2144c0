import BerthCore
import BerthStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// An API error as it goes on the wire: `{"error": {"code", "message", "field"}}` with its status.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    /// A stable word scripts can switch on: `unauthorized`, `forbidden`, `not_found`, `malformed`,
    /// `invalid`, `conflict`, `too_large`, `unsupported_media_type`, `rate_limited`, `unavailable`, `internal`.
    public var code: String
    public var message: String
    /// The JSON or YAML field path the problem is about (`spec.replicas`), or a header or query parameter.
    public var field: String?
    /// Seconds to wait before trying again, sent as `Retry-After` (429 and 503 of the limits).
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, code: String, message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// The body of an error answer.
    public struct Body: Codable, Sendable {
        public struct Detail: Codable, Sendable {
            public var code: String
            public var message: String
            public var field: String?
        }

        public var error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = Body(error: .init(code: code, message: message, field: field))
        var headers = HTTPFields()
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return try JSONAnswer.response(status, body, headers: headers)
    }

    package static let unauthorized = APIError(.unauthorized, code: "unauthorized", message: "a bearer token is required: Authorization: Bearer <token>")

    package static func forbidden(_ message: String) -> APIError { APIError(.forbidden, code: "forbidden", message: message) }
    package static func notFound(_ message: String) -> APIError { APIError(.notFound, code: "not_found", message: message) }
    package static func badParameter(_ name: String, _ message: String) -> APIError {
        APIError(.badRequest, code: "malformed", message: message, field: name)
    }

    /// Too much at once: 429 `rate_limited` (this caller's share) or 503 `unavailable` (the
    /// server's), with the seconds to wait.
    static func busy(_ status: HTTPResponse.Status, _ message: String, retryAfter seconds: Int = 5) -> APIError {
        var error = APIError(status, code: status == .tooManyRequests ? "rate_limited" : "unavailable", message: message)
        error.retryAfter = seconds
        return error
    }

    /// A body that failed validation: a syntax error is 400 (malformed) with its position, a schema
    /// problem 422 (invalid) naming the field path; every problem is listed in the message.
    static func invalid(_ error: ValidationError, syntax: Bool) -> APIError {
        let first = error.issues.first
        let message = error.issues.map { issue in
            var text = issue.path.isEmpty ? issue.message : "\(issue.path): \(issue.message)"
            if let location = issue.location { text = "line \(location.line), column \(location.column): " + text }
            return text
        }.joined(separator: "; ")
        return APIError(syntax ? .badRequest : .unprocessableContent, code: syntax ? "malformed" : "invalid", message: message, field: first.flatMap { $0.path.isEmpty ? nil : $0.path })
    }

    /// A store failure: unavailable (retry) or internal. The message names no secret (the store's
    /// messages never carry connection passwords).
    package static func store(_ error: StoreError) -> APIError {
        switch error.code {
        case .notFound: notFound(error.message)
        case .illegalTransition, .stateConflict, .claimLost: APIError(.conflict, code: "conflict", message: error.message)
        case .invalidArgument: APIError(.unprocessableContent, code: "invalid", message: error.message)
        default:
            error.isRetryable || error.code == .closed
                ? APIError(.serviceUnavailable, code: "unavailable", message: error.message)
                : APIError(.internalServerError, code: "internal", message: error.message)
        }
    }
}

/// Turns every error into the JSON error shape: Hummingbird's own (unknown route, body too
/// large), the store's, and anything unexpected (500, logged, never a crash).
package struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    package func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as StoreError {
            throw APIError.store(error)
        } catch let error as HTTPError {
            throw Self.translate(error, request)
        } catch {
            context.logger.error("request failed: \(error)", metadata: ["berth.path": "\(request.uri.path)"])
            throw APIError(.internalServerError, code: "internal", message: "the request failed inside the server; see its log")
        }
    }

    package static func translate(_ error: HTTPError, _ request: Request) -> APIError {
        switch error.status {
        case .notFound: APIError.notFound("no route \(request.method) \(request.uri.path)")
        case .contentTooLarge: APIError(.contentTooLarge, code: "too_large", message: error.body ?? "the body is larger than the limit")
        case .methodNotAllowed: APIError(.methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed on \(request.uri.path)")
        case .unauthorized: APIError.unauthorized
        default: APIError(error.status, code: error.status.code < 500 ? "malformed" : "internal", message: error.body ?? error.status.reasonPhrase)
        }
    }
}

/// JSON answers, encoded the one way every route uses.
enum JSONAnswer {
    static let encoder = APIJSON.encoder()

    /// The JSON text of a value, for server-sent event data.
    static func text(_ value: some Encodable) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func response(_ status: HTTPResponse.Status = .ok, _ value: some Encodable, headers: HTTPFields = [:]) throws -> Response {
        response(status, bytes: try encoder.encode(value), headers: headers)
    }

    /// An answer written with ``JSONWriter`` (the job routes).
    static func response(_ status: HTTPResponse.Status = .ok, headers: HTTPFields = [:], _ write: (inout JSONWriter) throws -> Void) throws -> Response {
        var writer = JSONWriter()
        try write(&writer)
        return response(status, bytes: writer.bytes, headers: headers)
    }

    private static func response(_ status: HTTPResponse.Status, bytes: some Sequence<UInt8>, headers: HTTPFields) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
