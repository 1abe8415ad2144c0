import BerthCore

/// Where a translated value came from: the compose field's path and its position in the files.
struct ComposeOrigin: Sendable, Hashable {
    /// `services.web.ports[0]`, `volumes.db-data`.
    var field: String
    var location: SourceLocation?

    /// The origin of `key` inside this field (`services.web` + `image`).
    func child(_ key: String, at location: SourceLocation?) -> ComposeOrigin {
        ComposeOrigin(field: "\(field).\(key)", location: location ?? self.location)
    }

    /// The origin of item `index` of this list field.
    func item(_ index: Int, at location: SourceLocation?) -> ComposeOrigin {
        ComposeOrigin(field: "\(field)[\(index)]", location: location ?? self.location)
    }
}

/// The warnings of one translation, in the order found, each once.
struct WarningLog {
    private(set) var warnings: [ComposeWarning] = []
    private var seen: Set<ComposeWarning> = []

    mutating func warn(_ origin: ComposeOrigin, _ message: String) {
        let warning = ComposeWarning(location: origin.location, field: origin.field, message: message)
        if seen.insert(warning).inserted { warnings.append(warning) }
    }
}
