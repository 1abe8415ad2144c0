/// A Job document with declared parameters (`kind: JobTemplate`): jobs are rendered from it at
/// submission (``render(parameters:)``), with `{{ .parameters.NAME }}` replaced in the fields
/// ``JobSpec/templateFields`` lists. The controller runs nothing for a template.
public struct JobTemplateSpec: Sendable, Hashable, Codable {
    /// The job's spec as written, placeholders included.
    public var job: JobSpec
    public var parameters: [TemplateParameter]

    public init(job: JobSpec, parameters: [TemplateParameter] = []) {
        self.job = job
        self.parameters = parameters
    }

    public func parameter(_ name: String) -> TemplateParameter? {
        parameters.first { $0.name == name }
    }

    static func read(_ map: MapReader) -> JobTemplateSpec? {
        let parameters = map.optional("parameters", default: []) { reader -> [TemplateParameter] in
            let list = try reader.list { try TemplateParameter.read($0) }
            var seen: Set<String> = []
            for (index, parameter) in list.enumerated() where !seen.insert(parameter.name).inserted {
                map.context.report("parameter \"\(parameter.name)\" is declared twice", path: "\(reader.path)[\(index)].name", at: reader.node.location)
            }
            return list
        }
        let declared = Set(parameters.map(\.name))
        let job = map.required("job") { reader -> JobSpec in
            checkPlaceholders(reader, declared: declared)
            let jobMap = try reader.map()
            defer { jobMap.finish() }
            guard let job = JobSpec.read(jobMap) else { throw AlreadyReported() }
            return job
        }
        guard let job else { return nil }
        return JobTemplateSpec(job: job, parameters: parameters)
    }

    /// Reports every placeholder naming an undeclared parameter, malformed, or written in a field
    /// where nothing is substituted, with its field path and position.
    private static func checkPlaceholders(_ job: ValueReader, declared: Set<String>) {
        guard case .map(let entries) = job.node.content else { return }
        for entry in entries {
            let substituted = JobSpec.templateFields.contains(entry.key)
            walkStrings(entry.value, path: "\(job.path).\(entry.key)") { text, node, path in
                for found in TemplatePlaceholders.find(in: text) {
                    let reader = ValueReader(node: node, path: path, context: job.context)
                    switch found {
                    case .malformed(let message):
                        _ = reader.fail(message)
                    case .parameter(let name) where !substituted:
                        _ = reader.fail(
                            "{{ .parameters.\(name) }} is not substituted in \(entry.key); placeholders work in \(JobSpec.templateFields.joined(separator: ", "))")
                    case .parameter(let name) where !declared.contains(name):
                        _ = reader.fail(
                            "unknown parameter \"\(name)\"\(Suggestion.didYouMean(name, among: declared.sorted())); declare it under spec.parameters")
                    case .parameter:
                        break
                    }
                }
            }
        }
    }

    /// Calls `visit` with every string in the tree, its node and its field path.
    private static func walkStrings(_ node: InputNode, path: String, _ visit: (String, InputNode, String) -> Void) {
        switch node.content {
        case .string(let text): visit(text, node, path)
        case .list(let items):
            for (index, item) in items.enumerated() { walkStrings(item, path: "\(path)[\(index)]", visit) }
        case .map(let entries):
            for entry in entries { walkStrings(entry.value, path: "\(path).\(entry.key)", visit) }
        case .null, .bool, .number: break
        }
    }

    private enum CodingKeys: String, CodingKey { case job, parameters }

    public init(from decoder: any Decoder) throws {
        self = try Self.decodeInput(from: decoder, read: Self.read)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(job, forKey: .job)
        try container.encode(parameters, forKey: .parameters)
    }
}

/// One declared parameter of a JobTemplate.
public struct TemplateParameter: Sendable, Hashable, Codable {
    /// What values a parameter takes.
    public enum ValueType: String, Sendable, Hashable, Codable, CaseIterable {
        case string, integer, boolean
        case `enum`
    }

    public var name: String
    public var type: ValueType
    /// The allowed values of an `enum` parameter; empty for other types.
    public var values: [String]
    public var required: Bool
    /// The value used when the submission gives none, as text (a valid value of `type`).
    public var defaultValue: String?
    /// A regular expression the whole value of a `string` parameter must match.
    public var pattern: String?
    public var description: String?

    public init(
        name: String, type: ValueType = .string, values: [String] = [], required: Bool = false, defaultValue: String? = nil,
        pattern: String? = nil, description: String? = nil
    ) {
        self.name = name
        self.type = type
        self.values = values
        self.required = required
        self.defaultValue = defaultValue
        self.pattern = pattern
        self.description = description
    }

    static func read(_ reader: ValueReader) throws -> TemplateParameter {
        let map = try reader.map()
        defer { map.finish() }
        let name = map.required("name") { reader -> String in
            let name = try reader.string()
            guard isValidName(name) else {
                throw reader.fail("a parameter name is 1 to 63 letters, digits and _, not starting with a digit; found \"\(name)\"")
            }
            return name
        }
        let type = map.optional("type", default: .string) { try $0.choice(ValueType.self) }
        let values = map.optional("values", default: []) { try $0.list { try $0.nonEmptyString() } }
        let required = map.optional("required", default: false) { try $0.bool() }
        let pattern = map.optional("pattern") { reader -> String in
            let pattern = try reader.nonEmptyString()
            guard (try? Regex(pattern)) != nil else { throw reader.fail("\"\(pattern)\" is not a valid regular expression") }
            return pattern
        }
        let description = map.optional("description") { try $0.string() }
        guard let name else { throw AlreadyReported() }
        var parameter = TemplateParameter(name: name, type: type, values: values, required: required, pattern: pattern, description: description)
        if type == .enum, values.isEmpty { map.report("an enum parameter lists its values", field: "values") }
        if type != .enum, !values.isEmpty { map.report("values are for type enum only", field: "values") }
        if type != .string, pattern != nil { map.report("a pattern is for type string only", field: "pattern") }
        let declared = parameter
        parameter.defaultValue = map.optional("default") { reader -> String in
            switch declared.accept(reader.node) {
            case .success(let text): return text
            case .failure(let problem): throw reader.fail("the default is not a valid value: \(problem.message)")
            }
        }
        if required, parameter.defaultValue != nil { map.report("a required parameter has no default", field: "default") }
        return parameter
    }

    static func isValidName(_ name: String) -> Bool {
        (1...63).contains(name.utf8.count) && name.first?.isNumber == false
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    /// Why a value is refused: the message names what was expected.
    public struct Refusal: Error, Sendable, Hashable {
        public var message: String
    }

    /// A submitted value as the text substituted, or why it is refused. Integers and booleans may
    /// come as JSON values or as their text (as a command line gives them).
    public func accept(_ value: InputNode) -> Result<String, Refusal> {
        let refuse = { (expected: String) in Result<String, Refusal>.failure(Refusal(message: expected)) }
        switch (type, value.content) {
        case (.string, .string(let text)), (.string, .number(let text)):
            guard !AgeArmor.isArmored(text) else { return refuse("a parameter value may not be an age-encrypted block") }
            if let pattern, let regex = try? Regex(pattern), (try? regex.wholeMatch(in: text)) == nil {
                return refuse("expected a string matching the pattern \(pattern), found \"\(text)\"")
            }
            return .success(text)
        case (.string, _):
            return refuse("expected a string, found \(value.kindDescription)")
        case (.integer, .number(let text)), (.integer, .string(let text)):
            guard let number = Int(text) else { return refuse("expected an integer, found \(Self.describe(value))") }
            return .success(String(number))
        case (.integer, _):
            return refuse("expected an integer, found \(value.kindDescription)")
        case (.boolean, .bool(let flag)):
            return .success(flag ? "true" : "false")
        case (.boolean, .string(let text)) where text == "true" || text == "false":
            return .success(text)
        case (.boolean, _):
            return refuse("expected a boolean (true or false), found \(Self.describe(value))")
        case (.enum, .string(let text)), (.enum, .number(let text)):
            guard values.contains(text) else {
                return refuse("expected one of \(values.joined(separator: ", ")), found \"\(text)\"\(Suggestion.didYouMean(text, among: values))")
            }
            return .success(text)
        case (.enum, _):
            return refuse("expected one of \(values.joined(separator: ", ")), found \(value.kindDescription)")
        }
    }

    private static func describe(_ value: InputNode) -> String {
        switch value.content {
        case .string(let text): "string \"\(text)\""
        case .number(let text): "number \(text)"
        default: value.kindDescription
        }
    }

    private enum CodingKeys: String, CodingKey { case name, type, values, required, `default`, pattern, description }

    public init(from decoder: any Decoder) throws {
        let node = try InputNode(from: decoder)
        self = try Self.readInput(node)
    }

    private static func readInput(_ node: InputNode) throws(ValidationError) -> TemplateParameter {
        let context = ReadContext()
        guard let parameter = ValueReader(node: node, path: "", context: context).attempt(read), context.issues.isEmpty else {
            throw ValidationError(issues: context.issues)
        }
        return parameter
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(type, forKey: .type)
        if !values.isEmpty { try container.encode(values, forKey: .values) }
        try container.encode(required, forKey: .required)
        switch (type, defaultValue) {
        case (.integer, let text?): try container.encode(Int(text), forKey: .default)
        case (.boolean, let text?): try container.encode(text == "true", forKey: .default)
        case (_, let text?): try container.encode(text, forKey: .default)
        case (_, nil): break
        }
        try container.encodeIfPresent(pattern, forKey: .pattern)
        try container.encodeIfPresent(description, forKey: .description)
    }
}
