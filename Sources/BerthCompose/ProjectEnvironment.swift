import BerthCore

/// The variables of a project: its env files (`.env` in the project directory, or the
/// `--env-file`s given, later files winning), with the process environment over them.
enum ProjectEnvironment {
    /// `over` laid on the variables of `envFiles` (absolute paths; a missing file that is not
    /// required is skipped). A `KEY` line with no value sets nothing.
    static func variables(envFiles: [(path: String, required: Bool)], over: [String: String], at location: SourceLocation?, field: String) throws(ComposeError) -> [String: String] {
        var variables: [String: String] = [:]
        for file in envFiles {
            if !file.required, !ComposeFiles.exists(file.path) { continue }
            for variable in try EnvFile.read(file.path, lookup: over.merging(variables) { outer, _ in outer }, at: location, field: field) {
                if let value = variable.value { variables[variable.name] = value }
            }
        }
        return variables.merging(over) { _, outer in outer }
    }
}
