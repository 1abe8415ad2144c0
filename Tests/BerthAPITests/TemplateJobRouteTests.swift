import BerthAPI
import BerthCore
import BerthStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// `POST /v1/jobs` with a `template`: a JobTemplate written by an admin through the resource
/// routes, submitted with a token that may only submit templates.
@Suite("Template job routes") struct TemplateJobRouteTests {
    static let template = """
        apiVersion: berth/v1
        kind: JobTemplate
        metadata: {name: apply-deltas, project: alpha}
        spec:
          parameters:
            - {name: projectId, required: true, pattern: "[a-z0-9-]+"}
            - {name: mode, type: enum, values: [full, delta], default: delta}
          job:
            image: localhost/berth-busybox:latest
            pullPolicy: Never
            network: none
            inputPaths: [/io]
            command: [worker, "{{ .parameters.projectId }}", "{{ .parameters.mode }}"]
            labels: {qfc.project: "{{ .parameters.projectId }}"}
        """

    /// The template stored by an admin, and a `jobs:submit-template` token of project alpha.
    func prepare(_ fixture: APIFixture, _ client: any TestClientProtocol) async throws -> String {
        let put = try await client.call(.put, "/v1/resources/jobtemplate/alpha/apply-deltas", token: fixture.tokens["admin"], body: Self.template)
        try #require(put.status == .created, "\(put.text)")
        return try await fixture.store.createToken(name: "app", scopes: [.jobsSubmitTemplate], project: "alpha", expiresAt: nil, now: Date()).token
    }

    static func body(parameters: String = #"{"projectId": "p-42"}"#, files: String = "{}", template: String = "apply-deltas") -> String {
        #"{"template": "\#(template)", "project": "alpha", "parameters": \#(parameters), "files": \#(files)}"#
    }

    @Test func rendersStoresAndAnswersTheJobWithItsTemplateAndFiles() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            // given
            let token = try await prepare(fixture, client)
            let files = #"{"/io/deltas.json": {"content": "{\"d\": 1}"}, "/io/blob": {"content": "AAEC", "encoding": "base64"}}"#
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "deltas-7"]
            // when
            let first = try await client.call(.post, "/v1/jobs", token: token, body: Self.body(files: files), contentType: "application/json", headers: key)
            let again = try await client.call(.post, "/v1/jobs", token: token, body: Self.body(files: files), contentType: "application/json", headers: key)
            // then
            #expect(first.status == .created, "\(first.text)")
            let job = try first.decode(JobView.self)
            #expect(job.name == "apply-deltas" && job.project == "alpha")
            #expect(job.template == JobTemplateRef(name: "apply-deltas", generation: 1))
            #expect(job.owner == ResourceID(kind: .jobTemplate, project: "alpha", name: "apply-deltas"))
            #expect(job.spec.container.command == ["worker", "p-42", "delta"])
            #expect(job.spec.container.labels["qfc.project"] == "p-42")
            #expect(again.status == .ok)
            #expect(try again.decode(JobView.self).id == job.id)
            let inputs = try await fixture.store.jobInputs(job.id)
            #expect(inputs == [JobInputFile(path: "/io/blob", content: [0, 1, 2]), JobInputFile(path: "/io/deltas.json", content: Array(#"{"d": 1}"#.utf8))])
            let shown = try await client.call(.get, "/v1/jobs/\(job.id)", token: token)
            #expect((try shown.json()["template"] as? [String: Any])?["generation"] as? Int == 1, "\(shown.text)")
        }
        await fixture.finish()
    }

    @Test(arguments: [
        (body(parameters: #"{"projectId": "P 42"}"#), "parameters.projectId", "matching the pattern [a-z0-9-]+"),
        (body(parameters: #"{"projectId": "p", "mode": "fast"}"#), "parameters.mode", "expected one of full, delta"),
        (body(parameters: "{}"), "parameters.projectId", "missing required parameter"),
        (body(parameters: #"{"projectId": "p", "extra": 1}"#), "parameters.extra", "unknown parameter"),
        (body(files: #"{"/etc/passwd": {"content": "x"}}"#), "files./etc/passwd", "outside the job's input paths"),
        (body(files: #"{"/io/x": {"content": "%%", "encoding": "base64"}}"#), "files./io/x.content", "expected base64"),
        (body(template: "nope"), "template", "no JobTemplate nope in project alpha"),
        (#"{"template": "apply-deltas", "project": "alpha", "parameter": {}}"#, "parameter", "unknown field"),
    ])
    func refusesWithTheField(body: String, field: String, message: String) async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            // given
            let token = try await prepare(fixture, client)
            // when
            let response = try await client.call(.post, "/v1/jobs", token: token, body: body, contentType: "application/json")
            // then
            #expect(response.status == .unprocessableContent, "\(response.text)")
            #expect(try response.error()["field"] as? String == field, "\(response.text)")
            #expect(response.errorMessage().contains(message), "\(response.text)")
        }
        await fixture.finish()
    }

    @Test func aTemplateOnlyTokenIsRefusedAJobDocumentAndOnlyAnAdminWritesTemplates() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            // given
            let token = try await prepare(fixture, client)
            // when
            let document = try await client.call(.post, "/v1/jobs", token: token, body: APIFixture.jobYAML("raw"))
            let writer = try await client.call(
                .put, "/v1/resources/jobtemplate/alpha/other", token: fixture.tokens["resources"], body: Self.template.replacingOccurrences(of: "apply-deltas", with: "other"))
            let otherProject = try await client.call(.post, "/v1/jobs", token: token, body: Self.body().replacingOccurrences(of: "\"alpha\"", with: "\"beta\""), contentType: "application/json")
            // then
            #expect(document.status == .forbidden)
            #expect(document.errorMessage().contains("has the scope jobs:submit-template"), "\(document.text)")
            #expect(writer.status == .forbidden)
            #expect(writer.errorMessage().contains("writing a JobTemplate"), "\(writer.text)")
            #expect(otherProject.status == .forbidden)
        }
        await fixture.finish()
    }
}
