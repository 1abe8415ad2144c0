import BerthCore

/// A compose project as `docker compose config` would see it: every file read, merged,
/// interpolated, `extends` and `include` resolved, profiles applied, and every field written in
/// its canonical long form (the contract between ``ComposeLoader`` and ``ComposeTranslator``,
/// written out in docs/compose.md, "The canonical form").
///
/// Every node keeps the position it was written at in the user's files, so a warning or an error
/// about a translated field names the compose file, line and column it came from.
public struct ComposeProject: Sendable, Hashable {
    /// The project name (`-p`, `COMPOSE_PROJECT_NAME`, the top-level `name:`, or the project
    /// directory's base name, in that order), already a valid Berth project name.
    public var name: String
    /// The absolute project directory, relative paths in the files resolved against it.
    public var directory: String
    /// The files read, in the order they were merged (includes and extended files too).
    public var files: [String]
    /// The canonical top-level mapping: `services`, `networks`, `volumes`, `secrets`, `configs`
    /// and `x-` extension fields.
    public var document: InputNode
    /// What loading noticed but did not refuse (an unset variable read as empty, say).
    public var warnings: [ComposeWarning]

    public init(name: String, directory: String, files: [String], document: InputNode, warnings: [ComposeWarning] = []) {
        self.name = name
        self.directory = directory
        self.files = files
        self.document = document
        self.warnings = warnings
    }
}

/// A compose field that was not translated as written: where it is, which field, and why.
public struct ComposeWarning: Sendable, Hashable, CustomStringConvertible {
    /// Where the field is written, when known.
    public var location: SourceLocation?
    /// The field's path, `services.web.build` say.
    public var field: String
    /// Why it was not translated as written, and what to do.
    public var message: String

    public init(location: SourceLocation?, field: String, message: String) {
        self.location = location
        self.field = field
        self.message = message
    }

    public var description: String {
        "\(location.map { "\($0): " } ?? "")\(field): \(message)"
    }
}
