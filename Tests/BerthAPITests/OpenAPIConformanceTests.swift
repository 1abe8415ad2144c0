import BerthAPI
import BerthController
import BerthStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Yams

/// Live answers of a server on a real port, checked against docs/openapi.yaml: every route and
/// status a request got is documented, and its JSON body matches the documented schema.
@Suite("OpenAPI conformance") struct OpenAPIConformanceTests {
    @Test func liveAnswersMatchTheDocument() async throws {
        let document = try OpenAPIDocument.load()
        let fixture = try await APIFixture()
        // As `serve` runs it: with a controller beside the API, its report in the status answer.
        var dependencies = fixture.dependencies
        dependencies.controller = ControllerHealth()
        dependencies.gitWebhook = GitWebhook(secret: Array(GitWebhookTests.secret.utf8), trigger: {})
        let app = Application(router: APIServer.router(dependencies), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let admin = fixture.tokens["admin"]
            var checked = 0
            func check(
                _ method: HTTPRequest.Method, _ uri: String, token: String? = admin, body: String? = nil, contentType: String? = "application/yaml",
                headers: HTTPFields = [:]
            ) async throws -> TestResponse {
                let response = try await client.call(method, uri, token: token, body: body, contentType: contentType, headers: headers)
                let problems = try document.validate(
                    method: method.rawValue, uri: uri, status: response.status.code, contentType: response.headers[.contentType], body: Data(response.body.readableBytesView))
                #expect(problems.isEmpty, "\(method) \(uri) → \(response.status.code): \(problems.joined(separator: "; "))\n\(response.text.prefix(500))")
                checked += 1
                return response
            }
            let job = try await check(.post, "/v1/jobs", body: APIFixture.jobYAML("j", extra: "  feedbackPath: /out/f.json")).decode(JobView.self)
            _ = try await check(.post, "/v1/jobs", body: APIFixture.jobYAML("j"))
            _ = try await check(.get, "/v1/jobs?limit=1")
            _ = try await check(.get, "/v1/jobs/\(job.id)")
            _ = try await check(.get, "/v1/jobs/\(job.id)/logs")
            _ = try await check(.post, "/v1/jobs/\(job.id)/cancel")
            _ = try await check(.post, "/v1/jobs/\(job.id)/progress", body: #"{"message": "late"}"#, contentType: "application/json")
            _ = try await check(.get, "/v1/jobs/missing")
            // Completion webhooks and full logs (issue 20).
            let hooked = try await check(.post, "/v1/jobs", body: APIFixture.jobYAML("h", extra: "  notify: {url: \"http://127.0.0.1:9/h\", secretFile: /k}")).decode(JobView.self)
            _ = try await check(.get, "/v1/jobs/\(hooked.id)")
            _ = try await check(.get, "/v1/jobs/\(hooked.id)/logs?full=true&stream=stderr")
            _ = try await check(.post, "/v1/jobs", body: "kind: [")
            _ = try await check(.post, "/v1/jobs", body: APIFixture.jobYAML("j", extra: "  backoffLimit: lots"))
            _ = try await check(.post, "/v1/jobs", body: "<p/>", contentType: "text/html")
            _ = try await check(.put, "/v1/resources/service/alpha/web", body: APIFixture.serviceYAML("web"))
            _ = try await check(.put, "/v1/resources/service/alpha/web", body: APIFixture.serviceYAML("web", extra: "  replicas: 2"))
            _ = try await check(.put, "/v1/resources/service/alpha/owned", body: APIFixture.serviceYAML("owned"))
            _ = try await check(.get, "/v1/resources/service/alpha/web")
            _ = try await check(.get, "/v1/resources/service/alpha/owned")
            _ = try await check(.get, "/v1/resources?kind=service")
            _ = try await check(.delete, "/v1/resources/service/alpha/web")
            _ = try await check(.get, "/v1/plan")
            _ = try await check(.get, "/v1/status")
            _ = try await check(.get, "/v1/events?limit=5")
            _ = try await check(.get, "/v1/plan", token: fixture.tokens["read-alpha"])
            _ = try await check(.get, "/v1/status", token: nil)
            _ = try await check(.get, "/healthz", token: nil)
            _ = try await check(.get, "/readyz", token: nil)
            _ = try await check(.get, "/metrics", token: fixture.tokens["read"])
            _ = try await check(.get, "/v1/source")
            try await SourceRouteTests.seed(fixture.store)
            _ = try await check(.get, "/v1/source")
            _ = try await check(.get, "/v1/source/history?limit=2")
            _ = try await check(.get, "/v1/status")
            let json = "application/json"
            _ = try await check(.post, "/v1/source/rollback", body: #"{"revision": "1a2b3c4d"}"#, contentType: json)
            _ = try await check(.post, "/v1/source/rollback", body: #"{"revision": "5e6f7a8"}"#, contentType: json)
            _ = try await check(.post, "/v1/source/rollback", body: #"{"revision": null}"#, contentType: json)
            let delivery = GitWebhookTests.body
            _ = try await check(.post, "/v1/hooks/git", token: nil, body: delivery, contentType: json)
            _ = try await check(
                .post, "/v1/hooks/git", token: nil, body: delivery, contentType: json,
                headers: [GitWebhookTests.header("X-Hub-Signature-256"): GitWebhookTests.signature(delivery)])
            #expect(checked == 38)
        }
        await fixture.finish()
    }
}

/// docs/openapi.yaml, read with Yams, and a validator for the subset of JSON Schema it uses:
/// `$ref`, `type`, `required`, `properties`, `items`, `enum`, `format: date-time`, `minimum`.
struct OpenAPIDocument: @unchecked Sendable { // read once, never mutated
    let root: [String: Any]

    static func load() throws -> OpenAPIDocument {
        var folder = URL(fileURLWithPath: #filePath)
        while folder.path != "/" {
            folder.deleteLastPathComponent()
            let candidate = folder.appendingPathComponent("docs/openapi.yaml")
            if FileManager.default.fileExists(atPath: candidate.path) {
                let text = try String(contentsOf: candidate, encoding: .utf8)
                return OpenAPIDocument(root: try #require(try Yams.load(yaml: text) as? [String: Any]))
            }
        }
        throw SetupError("docs/openapi.yaml not found above \(#filePath)")
    }

    /// The problems of one answer; empty when it conforms.
    func validate(method: String, uri: String, status: Int, contentType: String?, body: Data) throws -> [String] {
        let path = String(uri.split(separator: "?", maxSplits: 1)[0])
        guard let (template, item) = pathItem(path) else { return ["\(path) is not in the document"] }
        guard let operation = item[method.lowercased()] as? [String: Any] else { return ["\(method) \(template) is not in the document"] }
        guard let responses = operation["responses"] as? [String: Any], var response = responses[String(status)] as? [String: Any] else {
            return ["\(method) \(template) does not document status \(status)"]
        }
        response = resolve(response)
        guard let content = response["content"] as? [String: Any] else { return body.isEmpty ? [] : ["status \(status) documents no body"] }
        let mediaType = (contentType ?? "").split(separator: ";")[0].trimmingCharacters(in: .whitespaces)
        guard let media = content[mediaType] as? [String: Any] else { return ["\(mediaType) is not documented for \(status)"] }
        guard mediaType == "application/json", let schema = media["schema"] as? [String: Any] else { return [] }
        let value = try JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
        return check(value, against: schema, at: "$")
    }

    private func pathItem(_ path: String) -> (String, [String: Any])? {
        let paths = root["paths"] as? [String: Any] ?? [:]
        let segments = path.split(separator: "/")
        for (template, item) in paths {
            let parts = template.split(separator: "/")
            guard parts.count == segments.count else { continue }
            if zip(parts, segments).allSatisfy({ $0.hasPrefix("{") || $0 == $1 }), let item = item as? [String: Any] {
                return (template, item)
            }
        }
        return nil
    }

    private func resolve(_ node: [String: Any]) -> [String: Any] {
        guard let reference = node["$ref"] as? String else { return node }
        var current: Any = root
        for part in reference.dropFirst(2).split(separator: "/") {
            current = (current as? [String: Any])?[String(part)] ?? [:]
        }
        return resolve(current as? [String: Any] ?? [:])
    }

    private func check(_ value: Any, against raw: [String: Any], at path: String) -> [String] {
        let schema = resolve(raw)
        var problems: [String] = []
        if let options = schema["enum"] as? [Any], !options.contains(where: { "\($0)" == "\(value)" }) {
            problems.append("\(path): \(value) is not one of \(options)")
        }
        switch schema["type"] as? String {
        case "object":
            guard let object = value as? [String: Any] else { return ["\(path): expected an object"] }
            for key in schema["required"] as? [String] ?? [] where object[key] == nil {
                problems.append("\(path).\(key) is required")
            }
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for (key, member) in object {
                if let property = properties[key] as? [String: Any] { problems += check(member, against: property, at: "\(path).\(key)") }
            }
        case "array":
            guard let array = value as? [Any] else { return ["\(path): expected an array"] }
            if let items = schema["items"] as? [String: Any] {
                for (index, element) in array.enumerated() { problems += check(element, against: items, at: "\(path)[\(index)]") }
            }
        case "string":
            guard let string = value as? String else { return ["\(path): expected a string"] }
            if schema["format"] as? String == "date-time", (try? Date(string, strategy: .iso8601)) == nil {
                problems.append("\(path): \(string) is not a date-time")
            }
        case "integer":
            guard let number = value as? NSNumber, number.doubleValue == number.doubleValue.rounded() else {
                return ["\(path): expected an integer"]
            }
            if let minimum = schema["minimum"] as? Int, number.intValue < minimum { problems.append("\(path): \(number) is below \(minimum)") }
        case "number":
            if !(value is NSNumber) { problems.append("\(path): expected a number") }
        case "boolean":
            if !(value is Bool) { problems.append("\(path): expected a boolean") }
        default:
            break
        }
        return problems
    }
}
