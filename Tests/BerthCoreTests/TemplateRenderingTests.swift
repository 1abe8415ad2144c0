import Foundation
import Testing
@testable import BerthCore

/// A template of project `qfc` declaring `projectId` (string, required, pattern), `mode` (enum,
/// default delta), `retries` (integer, default 2), `verbose` (boolean) and `note` (string).
private func applyDeltas() throws -> JobTemplateSpec {
    let document = try Resource(
        json: #"""
            {"apiVersion": "berth/v1", "kind": "JobTemplate", "metadata": {"name": "apply-deltas", "project": "qfc"}, "spec": {
              "parameters": [
                {"name": "projectId", "type": "string", "required": true, "pattern": "[a-z0-9-]{3,40}"},
                {"name": "mode", "type": "enum", "values": ["full", "delta"], "default": "delta"},
                {"name": "retries", "type": "integer", "default": 2},
                {"name": "verbose", "type": "boolean"},
                {"name": "note"}
              ],
              "job": {
                "image": "example/worker:1",
                "command": ["worker", "--project={{ .parameters.projectId }}", "--mode={{.parameters.mode}}", "--retries={{ .parameters.retries }}"],
                "env": {"VERBOSE": "{{ .parameters.verbose }}", "NOTE": "{{ .parameters.note }}", "TOKEN": {"fromEnv": "WORKER_TOKEN"}},
                "labels": {"qfc.project": "{{ .parameters.projectId }}"},
                "inputPaths": ["/io"]
              }
            }}
            """#)
    guard case .jobTemplate(let spec) = document.spec else { throw ValidationError("not a JobTemplate") }
    return spec
}

/// JSON values as a request body gives them.
private func values(_ json: String) throws -> [String: InputNode] {
    guard case .map(let entries) = try InputNode(json: json).content else { throw ValidationError("not a mapping") }
    return Dictionary(uniqueKeysWithValues: entries.map { ($0.key, $0.value) })
}

/// One submission: the parameters sent, and the problem expected at `parameters.<field>` (nil:
/// accepted, with `command` rendered).
struct ParameterCase: CustomTestStringConvertible, Sendable {
    var name: String
    var parameters: String
    var field: String? = nil
    var message: String? = nil
    var command: [String]? = nil
    var testDescription: String { name }
}

@Suite struct TemplateRenderingTests {
    static let cases: [ParameterCase] = [
        ParameterCase(
            name: "defaults used", parameters: #"{"projectId": "p-42"}"#,
            command: ["worker", "--project=p-42", "--mode=delta", "--retries=2"]),
        ParameterCase(
            name: "every type given", parameters: #"{"projectId": "p-42", "mode": "full", "retries": 5, "verbose": true}"#,
            command: ["worker", "--project=p-42", "--mode=full", "--retries=5"]),
        ParameterCase(
            name: "integer and boolean as text (a command line's)", parameters: #"{"projectId": "p-42", "retries": "7", "verbose": "false"}"#,
            command: ["worker", "--project=p-42", "--mode=delta", "--retries=7"]),
        ParameterCase(name: "missing required", parameters: #"{"mode": "full"}"#, field: "projectId", message: "missing required parameter (a string matching [a-z0-9-]{3,40})"),
        ParameterCase(name: "null for a required one", parameters: #"{"projectId": null}"#, field: "projectId", message: "missing required parameter"),
        ParameterCase(name: "pattern miss", parameters: #"{"projectId": "P 42"}"#, field: "projectId", message: "matching the pattern [a-z0-9-]{3,40}, found \"P 42\""),
        ParameterCase(name: "string given a list", parameters: #"{"projectId": ["p-42"]}"#, field: "projectId", message: "expected a string, found a list"),
        ParameterCase(name: "enum miss", parameters: #"{"projectId": "p-42", "mode": "deltas"}"#, field: "mode", message: "expected one of full, delta, found \"deltas\" (did you mean \"delta\"?)"),
        ParameterCase(name: "integer given text", parameters: #"{"projectId": "p-42", "retries": "many"}"#, field: "retries", message: "expected an integer, found string \"many\""),
        ParameterCase(name: "integer given a fraction", parameters: #"{"projectId": "p-42", "retries": 1.5}"#, field: "retries", message: "expected an integer, found number 1.5"),
        ParameterCase(name: "boolean given a number", parameters: #"{"projectId": "p-42", "verbose": 1}"#, field: "verbose", message: "expected a boolean (true or false), found number 1"),
        ParameterCase(name: "unknown parameter", parameters: #"{"projectId": "p-42", "projectID": "x"}"#, field: "projectID", message: "unknown parameter \"projectID\" (did you mean \"projectId\"?)"),
        ParameterCase(
            name: "an age block as a value", parameters: #"{"projectId": "p-42", "note": "-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n-----END AGE ENCRYPTED FILE-----"}"#,
            field: "note", message: "may not be an age-encrypted block"),
    ]

    @Test(arguments: cases)
    func checksEveryParameter(_ example: ParameterCase) throws {
        // given
        let template = try applyDeltas()
        let given = try values(example.parameters)
        // when
        let result = Result { () throws(ValidationError) in try template.render(parameters: given) }
        // then
        switch result {
        case .success(let spec):
            #expect(example.field == nil, "accepted, expected a problem at parameters.\(example.field ?? "")")
            #expect(spec.container.command == example.command)
        case .failure(let error):
            let issues = error.issues
            let issue = issues.first { $0.path == "parameters.\(example.field ?? "")" }
            #expect(issue != nil, "problems: \(issues.map(\.description))")
            #expect(issue?.message.contains(example.message ?? "-") == true, "\(issue?.message ?? "")")
        }
    }

    @Test func reportsEveryProblemAtOnce() throws {
        // given
        let template = try applyDeltas()
        // when
        let error = #expect(throws: ValidationError.self) { try template.render(parameters: try values(#"{"mode": "x", "retries": true, "extra": 1}"#)) }
        // then
        #expect(error?.issues.map(\.path).sorted() == ["parameters.extra", "parameters.mode", "parameters.projectId", "parameters.retries"])
    }

    @Test func insertsValuesAsLiteralTextInCommandEnvAndLabels() throws {
        // given: a value that YAML, a shell or the template syntax would read as more than text
        let template = try applyDeltas()
        let note = #"{{ .parameters.projectId }} $(id) "quoted": [1, 2]"#
        // when
        let spec = try template.render(parameters: try values(#"{"projectId": "p-42", "note": "\#(note.replacingOccurrences(of: "\"", with: "\\\""))", "verbose": false}"#))
        // then
        #expect(spec.container.env["NOTE"] == .literal(note))
        #expect(spec.container.env["VERBOSE"] == .literal("false"))
        #expect(spec.container.env["TOKEN"] == .fromEnv("WORKER_TOKEN"))
        #expect(spec.container.labels["qfc.project"] == "p-42")
        #expect(spec.inputPaths == ["/io"])
    }

    @Test func findsPlaceholdersWithBlanksAndLeavesOtherBracesAlone() {
        #expect(TemplatePlaceholders.find(in: "a {{.parameters.x}} b {{  .parameters.y_2\t}}") == [.parameter("x"), .parameter("y_2")])
        #expect(TemplatePlaceholders.find(in: "docker ps --format '{{ .Names }}'").isEmpty)
        #expect(TemplatePlaceholders.substitute("{{ .Names }}/{{ .parameters.x }}") { $0.uppercased() } == "{{ .Names }}/X")
        #expect(TemplatePlaceholders.substitute("{{ .parameters.x + 1 }}") { $0 } == nil)
    }
}

@Suite struct JobInputFileTests {
    @Test(arguments: [
        ("/io/deltas.json", "/io/deltas.json", true),
        ("/io//sub/./x", "/io/sub/x", true),
        ("/io", "/io", true),
        ("/iox/a", "/iox/a", false),
        ("/etc/passwd", "/etc/passwd", false),
    ])
    func confinesFilesToTheInputPaths(submitted: String, normalized: String, accepted: Bool) throws {
        // when
        let result = Result { () throws(ValidationError) in try JobInputFile.checked([JobInputFile(path: submitted, content: [1])], inputPaths: ["/io"]) }
        // then
        switch result {
        case .success(let files):
            #expect(accepted)
            #expect(files.map(\.path) == [normalized])
        case .failure(let error):
            #expect(!accepted)
            #expect(error.issues.map(\.path) == ["files.\(submitted)"])
            #expect(error.issues.first?.message.contains("outside the job's input paths (inputPaths: /io)") == true)
        }
    }

    @Test func refusesClimbingRelativeTooManyAndTooLarge() {
        #expect(throws: ValidationError.self) { try JobInputFile.checked([JobInputFile(path: "/io/../etc/x", content: [])], inputPaths: ["/io"]) }
        #expect(throws: ValidationError.self) { try JobInputFile.checked([JobInputFile(path: "io/x", content: [])], inputPaths: ["/io"]) }
        #expect(throws: ValidationError.self) { try JobInputFile.checked([JobInputFile(path: "/io/x", content: [])], inputPaths: []) }
        let many = (0...JobInputFile.maxCount).map { JobInputFile(path: "/io/\($0)", content: []) }
        let manyError = #expect(throws: ValidationError.self) { try JobInputFile.checked(many, inputPaths: ["/io"]) }
        #expect(manyError?.issues.map(\.path) == ["files"])
        let large = [JobInputFile(path: "/io/a", content: [UInt8](repeating: 1, count: JobInputFile.maxTotalBytes)), JobInputFile(path: "/io/b", content: [1])]
        let largeError = #expect(throws: ValidationError.self) { try JobInputFile.checked(large, inputPaths: ["/io"]) }
        #expect(largeError?.issues.map(\.path) == ["files./io/b"])
    }
}
