import Foundation

extension JobSpec {
    /// The fields of a Job spec in which a JobTemplate's placeholders are replaced.
    public static let templateFields = ["command", "entrypoint", "env", "labels", "concurrencyKey"]

    /// The spec with `substitute` applied to every text of ``templateFields``: command and
    /// entrypoint items, literal env values (references and encrypted values are left as they
    /// are), container label values, the concurrency key.
    func substitutingTemplateFields(_ substitute: (String) -> String) -> JobSpec {
        var spec = self
        spec.container.command = container.command?.map(substitute)
        spec.container.entrypoint = container.entrypoint?.map(substitute)
        spec.container.env = container.env.mapValues { value in
            if case .literal(let text) = value { return .literal(substitute(text)) }
            return value
        }
        spec.container.labels = container.labels.mapValues(substitute)
        spec.concurrencyKey = concurrencyKey.map(substitute)
        return spec
    }
}

extension JobTemplateSpec {
    /// The job this template gives with `parameters` (name → submitted value): each value checked
    /// against its declaration, defaults filled in, placeholders replaced by literal text, and the
    /// result read again by the Job reader. Every problem is thrown at once, parameters' at
    /// `parameters.NAME`, the rendered spec's at `spec.…`.
    public func render(parameters given: [String: InputNode]) throws(ValidationError) -> JobSpec {
        var issues: [ValidationIssue] = []
        var values: [String: String] = [:]
        for name in given.keys.sorted() where parameter(name) == nil {
            let known = parameters.map(\.name)
            let listing = known.isEmpty ? "the template declares none" : "declared: \(known.joined(separator: ", "))"
            issues.append(
                ValidationIssue(path: "parameters.\(name)", message: "unknown parameter \"\(name)\"\(Suggestion.didYouMean(name, among: known)); \(listing)"))
        }
        for declared in parameters {
            guard let value = given[declared.name], value.content != .null else {
                if declared.required {
                    issues.append(ValidationIssue(path: "parameters.\(declared.name)", message: "missing required parameter (\(declared.expectation))"))
                }
                values[declared.name] = declared.defaultValue ?? ""
                continue
            }
            switch declared.accept(value) {
            case .success(let text): values[declared.name] = text
            case .failure(let refusal): issues.append(ValidationIssue(path: "parameters.\(declared.name)", message: refusal.message))
            }
        }
        guard issues.isEmpty else { throw ValidationError(issues: issues) }
        // A placeholder the template reader accepted names a declared parameter, so every lookup succeeds.
        let rendered = job.substitutingTemplateFields { text in
            TemplatePlaceholders.substitute(text) { values[$0] ?? "" } ?? text
        }
        return try Self.readAgain(rendered)
    }

    /// The rendered spec through the Job reader, so its values meet the same checks as a Job's.
    private static func readAgain(_ spec: JobSpec) throws(ValidationError) -> JobSpec {
        let text: String
        do {
            text = String(decoding: try JSONEncoder().encode(spec), as: UTF8.self)
        } catch {
            throw ValidationError(issues: [ValidationIssue(path: "spec", message: "the rendered job cannot be encoded: \(error)")])
        }
        return try JobSpec(json: text)
    }
}

extension TemplateParameter {
    /// What a value must be, for messages: the type, its values or pattern.
    public var expectation: String {
        switch type {
        case .string: pattern.map { "a string matching \($0)" } ?? "a string"
        case .integer: "an integer"
        case .boolean: "a boolean"
        case .enum: "one of \(values.joined(separator: ", "))"
        }
    }
}
