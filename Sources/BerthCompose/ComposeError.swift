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

    /// A parser's or reader's problems, with `path` put in front of each issue's own path.
    init(_ error: ValidationError, path: String = "") {
        self.init(
            issues: error.issues.map { issue in
                var issue = issue
                if !path.isEmpty { issue.path = issue.path.isEmpty ? path : "\(path).\(issue.path)" }
                return issue
            })
    }

    public var description: String {
        issues.map(\.description).joined(separator: "\n")
    }
}
