/// Where a value came from: a manifest file position, or nothing for input without one (JSON bodies).
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The file path as the user named it, when the input came from a file.
    public var file: String?
    /// 1-based line.
    public var line: Int
    /// 1-based column.
    public var column: Int

    public init(file: String? = nil, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String {
        if let file { return "\(file):\(line):\(column)" }
        return "line \(line), column \(column)"
    }
}

/// One problem found in desired state: which resource, which field, where, and what was expected.
public struct ValidationIssue: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The resource the problem belongs to, when it is known.
    public var resource: ResourceID?
    /// Dotted field path inside the document, such as `spec.healthcheck.interval` (empty for the document itself).
    public var path: String
    /// Position in the source, when the input had positions.
    public var location: SourceLocation?
    /// What is wrong and what was expected.
    public var message: String

    public init(resource: ResourceID? = nil, path: String = "", location: SourceLocation? = nil, message: String) {
        self.resource = resource
        self.path = path
        self.location = location
        self.message = message
    }

    /// `file:line:column: Service qfield/app: spec.replicas: expected …`
    public var description: String {
        var parts: [String] = []
        if let location { parts.append(location.description) }
        if let resource { parts.append(resource.description) }
        if !path.isEmpty { parts.append(path) }
        parts.append(message)
        return parts.joined(separator: ": ")
    }
}

/// The error `BerthCore` throws: every problem found at once, in source order.
public struct ValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// All problems found; never empty.
    public var issues: [ValidationIssue]

    public init(issues: [ValidationIssue]) {
        precondition(!issues.isEmpty, "a ValidationError carries at least one issue")
        self.issues = issues
    }

    /// A single problem about a value, with no path yet; readers attach the field path and position.
    public init(_ message: String) {
        self.init(issues: [ValidationIssue(message: message)])
    }

    public var description: String {
        issues.map(\.description).joined(separator: "\n")
    }
}
