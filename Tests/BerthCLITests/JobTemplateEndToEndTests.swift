import Foundation
import Testing

/// Jobs from a JobTemplate as an application submits them: `berth serve`, a token that may only
/// submit templates, `berth jobs submit --template` with parameters and an input file, on a real
/// engine.
@Suite("JobTemplates end to end", .serialized) struct JobTemplateEndToEndTests {
    /// A template of the scenario's project that prints its input file and a parameter.
    func templateYAML(_ scenario: Scenario) -> String {
        """
        apiVersion: berth/v1
        kind: JobTemplate
        metadata: {name: apply-deltas, project: \(scenario.project)}
        spec:
          parameters:
            - {name: projectId, required: true, pattern: "[a-z0-9-]{3,40}"}
          job:
            image: \(scenario.image)
            pullPolicy: Never
            network: none
            stopGracePeriod: 1s
            inputPaths: [/io/in]
            command: ["sh", "-c", "cat /io/in/deltas.json; echo; echo project={{ .parameters.projectId }}"]
        """
    }

    /// Serves the template; the CLI then holds a `jobs:submit-template` token of the project.
    func serveWithTemplateToken(_ scenario: Scenario) async throws {
        try scenario.write(templateYAML(scenario))
        try scenario.startServe(Scenario.jobServeOptions)
        let created = try await scenario.berth("token", "create", "--name", "app", "--scope", "jobs:submit-template", "--project", scenario.project)
        try #require(created.status == 0, "\(created.stderr)")
        scenario.server = (url: try await scenario.apiURL(), token: created.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A local file holding `text`.
    func localFile(_ scenario: Scenario, _ text: String) throws -> String {
        let file = scenario.folder.appendingPathComponent("input-\(UUID().uuidString).json")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }

    @Test func aJobFromATemplateReadsItsInputFileAndParameter() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try await serveWithTemplateToken(scenario)
        let deltas = #"{"deltas": [{"id": "d-1"}]}"#
        // when
        let submitted = try await scenario.berth(
            "jobs", "submit", "--template", "apply-deltas", "--project", scenario.project, "-p", "projectId=p-42",
            "--file-input", "/io/in/deltas.json=\(try localFile(scenario, deltas))", "--json")
        // then
        try #require(submitted.status == 0, "\(submitted.stdout) \(submitted.stderr)")
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(submitted.stdout.utf8)) as? [[String: Any]])
        let id = try #require(answer.first?["id"] as? String)
        let job = try await scenario.ended(id)
        #expect(job["state"] as? String == "finished", "\(job)")
        #expect(job["stdoutTail"] as? String == deltas + "\nproject=p-42\n", "\(job)")
        let template = job["template"] as? [String: Any]
        #expect(template?["name"] as? String == "apply-deltas", "\(job)")
        #expect((job["owner"] as? [String: Any])?["kind"] as? String == "JobTemplate")
    }

    @Test func refusesFilesOutsideTheInputPathsOverTheLimitAndBadParameters() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try await serveWithTemplateToken(scenario)
        let small = try localFile(scenario, "{}")
        func submit(_ arguments: String...) async throws -> CommandResult {
            try await scenario.berth(["jobs", "submit", "--template", "apply-deltas", "--project", scenario.project] + arguments)
        }
        // when
        let outside = try await submit("-p", "projectId=p-42", "--file-input", "/etc/passwd=\(small)")
        let climbing = try await submit("-p", "projectId=p-42", "--file-input", "/io/in/../../etc/passwd=\(small)")
        let large = try await submit("-p", "projectId=p-42", "--file-input", "/io/in/big=\(try localFile(scenario, String(repeating: "x", count: 600 << 10)))")
        let badParameter = try await submit("-p", "projectId=P 42")
        let missing = try await submit()
        // then
        #expect(outside.status == 1)
        #expect(outside.stderr.contains("files./etc/passwd: /etc/passwd is outside the job's input paths (inputPaths: /io/in)"), "\(outside.stderr)")
        #expect(climbing.status == 1)
        #expect(climbing.stderr.contains("may not contain .."), "\(climbing.stderr)")
        #expect(large.status == 1)
        #expect(large.stderr.contains("files./io/in/big: input files total more than 524288 bytes"), "\(large.stderr)")
        #expect(badParameter.stderr.contains("parameters.projectId: expected a string matching the pattern"), "\(badParameter.stderr)")
        #expect(missing.stderr.contains("parameters.projectId: missing required parameter"), "\(missing.stderr)")
        let listed = try await scenario.berth("jobs", "list", "--project", scenario.project, "--json")
        let jobs = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [Any]
        #expect(jobs?.isEmpty == true, "nothing refused was stored: \(listed.stdout) \(listed.stderr)")
    }

    @Test func aTemplateOnlyTokenCannotSubmitAJobDocument() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try await serveWithTemplateToken(scenario)
        let file = scenario.folder.appendingPathComponent("job.yaml")
        try jobYAML(scenario, "raw", command: "id").write(to: file, atomically: true, encoding: .utf8)
        // when
        let submitted = try await scenario.berth("jobs", "submit", "-f", file.path)
        // then
        #expect(submitted.status == 1)
        #expect(submitted.stderr.contains("has the scope jobs:submit-template"), "\(submitted.stderr)")
    }
}
