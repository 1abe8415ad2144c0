import BerthCore
import BerthManifests
import Testing

/// A JobTemplate of project default with `parameters` and `job` (YAML lines, indented under spec).
private func template(parameters: String, job: String) -> String {
    """
    apiVersion: berth/v1
    kind: JobTemplate
    metadata:
      name: apply-deltas
    spec:
      parameters:
    \(parameters)
      job:
        image: example/worker:1
    \(job)
    """
}

@Suite("Reading JobTemplates from manifests")
struct JobTemplateReadingTests {
    @Test func readsParametersAndTheJobWithItsPlaceholders() throws {
        // given
        let yaml = template(
            parameters: """
                    - {name: projectId, type: string, required: true, pattern: "[a-z0-9-]+", description: the project}
                    - {name: mode, type: enum, values: [full, delta], default: delta}
                    - {name: retries, type: integer, default: 2}
                    - {name: verbose, type: boolean, default: false}
                """,
            job: """
                    command: [worker, "--project={{ .parameters.projectId }}", "{{.parameters.mode}}"]
                    env: {VERBOSE: "{{ .parameters.verbose }}"}
                    labels: {project: "{{ .parameters.projectId }}"}
                    inputPaths: [/io/, /data//in]
                """)
        // when
        let resources = try read(yaml)
        // then
        guard case .jobTemplate(let spec) = try #require(resources.first).spec else { Issue.record("not a JobTemplate"); return }
        #expect(spec.parameters.map(\.name) == ["projectId", "mode", "retries", "verbose"])
        #expect(spec.parameter("mode")?.values == ["full", "delta"])
        #expect(spec.parameter("mode")?.defaultValue == "delta")
        #expect(spec.parameter("retries")?.defaultValue == "2")
        #expect(spec.parameter("projectId")?.required == true)
        #expect(spec.job.container.command == ["worker", "--project={{ .parameters.projectId }}", "{{.parameters.mode}}"])
        #expect(spec.job.inputPaths == ["/io", "/data/in"])
    }

    @Test func refusesAnUnknownPlaceholderWithItsFileLineAndField() {
        // given: the parameter is projectId, the command says projectID
        let yaml = template(
            parameters: "    - {name: projectId, required: true}",
            job: """
                    command: [worker, "{{ .parameters.projectID }}"]
                """)
        // when
        let issues = readingIssues(yaml, file: "templates.yaml")
        // then
        let issue = issues.first { $0.path == "spec.job.command[1]" }
        #expect(issue?.location?.file == "templates.yaml", "\(issues.map(\.description))")
        #expect(issue?.location?.line == 10)
        #expect(issue?.message.contains("unknown parameter \"projectID\"") == true)
        #expect(issue?.message.contains("did you mean \"projectId\"") == true)
    }

    @Test(arguments: [
        ("    feedbackPath: \"/out/{{ .parameters.tag }}\"", "spec.job.feedbackPath", "not substituted in feedbackPath"),
        ("    env: {A: \"{{ .parameters.a-b }}\"}", "spec.job.env.A", "expected {{ .parameters.NAME }}"),
        ("    labels: {a: \"{{ .parameters.9x }}\"}", "spec.job.labels.a", "expected {{ .parameters.NAME }}"),
    ])
    func refusesPlaceholdersOutsideTheSubstitutedFieldsOrMalformed(line: String, path: String, message: String) {
        // given
        let yaml = template(parameters: "    - {name: tag}", job: line)
        // when
        let issues = readingIssues(yaml)
        // then
        let issue = issues.first { $0.path == path }
        #expect(issue?.message.contains(message) == true, "\(issues.map(\.description))")
    }

    @Test(arguments: [
        ("{name: a, type: enum}", "spec.parameters[0].values", "lists its values"),
        ("{name: a, type: integer, default: ten}", "spec.parameters[0].default", "expected an integer"),
        ("{name: a, pattern: \"[\"}", "spec.parameters[0].pattern", "not a valid regular expression"),
        ("{name: a, type: boolean, pattern: x}", "spec.parameters[0].pattern", "for type string only"),
        ("{name: a, required: true, default: x}", "spec.parameters[0].default", "has no default"),
        ("{name: 1a}", "spec.parameters[0].name", "not starting with a digit"),
        ("{name: a, type: float}", "spec.parameters[0].type", "expected one of string, integer, boolean, enum"),
    ])
    func refusesBadParameterDeclarations(declaration: String, path: String, message: String) {
        // given
        let yaml = template(parameters: "    - \(declaration)", job: "")
        // when
        let issues = readingIssues(yaml)
        // then
        let issue = issues.first { $0.path == path }
        #expect(issue?.message.contains(message) == true, "\(issues.map(\.description))")
    }

    @Test func refusesAnInputPathThatIsNotAbsoluteOrClimbs() {
        // given
        let yaml = template(parameters: "    []", job: "    inputPaths: [io, /a/../b]")
        // when
        let issues = readingIssues(yaml)
        // then
        #expect(issues.map(\.path).sorted() == ["spec.job.inputPaths[0]", "spec.job.inputPaths[1]"], "\(issues.map(\.description))")
    }
}
