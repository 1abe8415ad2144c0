import BerthCore

/// Why a compose project could not be loaded: every problem found, each with the file, line and
/// column it is written at, the field's path (`services.web.ports[0]`) and what was expected.
///
/// The issues are BerthCore's ``ValidationIssue``s, so a compose error prints like any other
/// manifest error: `compose.yaml:12:7: services.web.ports[0]: expected …`.
public struct ComposeError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Every problem found; never empty.
    public var issues: [ValidationIssue]

    public init(issues: [ValidationIssue]) {
        precondition(!issues.isEmpty, "a ComposeError carries at least one issue")
        self.issues = issues
    }

    /// One problem at a field.
    init(_ message: String, path: String = "", at location: SourceLocation?) {
        self.init(issues: [ValidationIssue(path: path, location: location, message: message)])
    }

    /// The YAML parser's problems, as they are.
    init(_ error: ValidationError) {
        self.init(issues: error.issues)
    }

    public var description: String {
        issues.map(\.description).joined(separator: "\n")
    }
}
