import BerthCore
import BerthManifests
import Foundation
import Hummingbird
import NIOCore

/// Reads the one resource document a request body carries, JSON or YAML, with the manifest
/// reader, so a body is checked exactly like a manifest file.
enum RequestDocument {
    /// Media types a document may be sent as; a body without `Content-Type` is read as YAML.
    static let mediaTypes: Set<String> = [json, "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"]
    private static let json = "application/json"
    private static let file = "request body"

    static func resource(_ request: Request, limit: Int) async throws(APIError) -> Resource {
        try resource(from: try await singleDocument(request, limit: limit))
    }

    /// What `POST /v1/jobs` carries: a Job document, or a request to render a JobTemplate
    /// (a body with a `template` key).
    enum JobRequest {
        case document(Resource)
        case template(TemplateSubmission)
    }

    static func jobRequest(_ request: Request, limit: Int) async throws(APIError) -> JobRequest {
        let document = try await singleDocument(request, limit: limit)
        guard TemplateSubmission.isTemplateRequest(document.root) else { return .document(try resource(from: document)) }
        do {
            return .template(try TemplateSubmission.read(document.root))
        } catch {
            throw APIError.invalid(error, syntax: false)
        }
    }

    private static func resource(from document: ManifestDocument) throws(APIError) -> Resource {
        do {
            return try Manifests.resources(from: [document])[0]
        } catch {
            throw APIError.invalid(error, syntax: false)
        }
    }

    /// The body's one document, JSON or YAML.
    private static func singleDocument(_ request: Request, limit: Int) async throws(APIError) -> ManifestDocument {
        let text = try await body(request, limit: limit)
        let documents: [ManifestDocument]
        do {
            // JSON is read as JSON (strictly, and without libyaml's event stream); anything else as YAML.
            documents =
                try mediaType(request) == json
                ? [ManifestDocument(file: file, index: 0, root: InputNode(json: text, file: file))]
                : YAMLDocumentParser.parse(text, file: file)
        } catch {
            throw APIError.invalid(error, syntax: true)
        }
        guard documents.count == 1 else {
            throw APIError(.unprocessableContent, code: "invalid", message: "the body must hold exactly one document, found \(documents.count)")
        }
        return documents[0]
    }

    /// A JSON body decoded into `T`; a decoding problem is 422 naming the field.
    static func json<T: Decodable>(_ type: T.Type, _ request: Request, limit: Int) async throws(APIError) -> T {
        let text = try await body(request, limit: limit)
        do {
            return try APIJSON.decoder().decode(T.self, from: Data(text.utf8))
        } catch let DecodingError.keyNotFound(key, context) {
            throw APIError(.unprocessableContent, code: "invalid", message: "\(key.stringValue) is required", field: Self.path(context.codingPath + [key]))
        } catch let DecodingError.typeMismatch(type, context), let DecodingError.valueNotFound(type, context) {
            throw APIError(.unprocessableContent, code: "invalid", message: "expected a \(type) value", field: Self.path(context.codingPath))
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw APIError(.unprocessableContent, code: "invalid", message: context.debugDescription, field: Self.path(context.codingPath))
        } catch {
            throw APIError(.badRequest, code: "malformed", message: "the body is not valid JSON")
        }
    }

    /// `Content-Type` without its parameters, lowercased; nil without the header.
    private static func mediaType(_ request: Request) -> String? {
        request.headers[.contentType].map { $0.split(separator: ";").first.map(String.init)?.trimmingCharacters(in: .whitespaces).lowercased() ?? "" }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    /// The body as UTF-8 text, refusing unsupported media types (415) and bodies over `limit` (413).
    private static func body(_ request: Request, limit: Int) async throws(APIError) -> String {
        if let mediaType = mediaType(request) {
            guard mediaTypes.contains(mediaType) else {
                throw APIError(
                    .unsupportedMediaType, code: "unsupported_media_type",
                    message: "send the document as application/json or application/yaml, not \(mediaType)", field: "Content-Type"
                )
            }
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "too_large", message: "the body is larger than \(limit) bytes")
        } catch {
            throw APIError(.badRequest, code: "malformed", message: "the body could not be read: \(error)")
        }
        guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else {
            throw APIError(.badRequest, code: "malformed", message: "the body is not UTF-8 text")
        }
        return text
    }
}
