import BerthCore

/// One field of a generated spec, and the compose fields it came from.
struct SpecField {
    var key: String
    var value: InputNode
    var origin: ComposeOrigin
    /// For a list value, where each item came from (one per item); empty otherwise.
    var itemOrigins: [ComposeOrigin] = []
    /// For a mapping value, where each entry came from.
    var entryOrigins: [String: ComposeOrigin] = [:]
}

/// The fields of a generated spec, in the order they are written.
struct SpecFields {
    private(set) var fields: [SpecField] = []

    subscript(key: String) -> InputNode? { fields.first { $0.key == key }?.value }

    /// Sets `key`, replacing what it held.
    mutating func set(_ key: String, _ value: InputNode, from origin: ComposeOrigin) {
        remove(key)
        fields.append(SpecField(key: key, value: value, origin: origin))
    }

    /// Appends an item to the list field `key`, creating it.
    mutating func append(_ key: String, _ item: InputNode, from origin: ComposeOrigin) {
        guard let index = fields.firstIndex(where: { $0.key == key }), case .list(var items) = fields[index].value.content else {
            fields.append(SpecField(key: key, value: InputNode(.list([item]), location: origin.location), origin: origin, itemOrigins: [origin]))
            return
        }
        items.append(item)
        fields[index].value.content = .list(items)
        fields[index].itemOrigins.append(origin)
    }

    /// Sets `entry` in the mapping field `key`, creating it; `parent` is the origin of the whole
    /// mapping (`services.web.environment`), when it has one compose field.
    mutating func setEntry(_ key: String, _ entry: String, _ value: InputNode, from origin: ComposeOrigin, parent: ComposeOrigin? = nil) {
        let new = InputNode.Entry(key: entry, keyLocation: origin.location, value: value)
        guard let index = fields.firstIndex(where: { $0.key == key }), case .map(var entries) = fields[index].value.content else {
            let whole = parent ?? origin
            let field = SpecField(key: key, value: InputNode(.map([new]), location: whole.location), origin: whole, entryOrigins: [entry: origin])
            fields.append(field)
            return
        }
        entries.removeAll { $0.key == entry }
        entries.append(new)
        fields[index].value.content = .map(entries)
        fields[index].entryOrigins[entry] = origin
    }

    /// Gives the fields that were started from a part of `parent` (an item, an entry, a nested
    /// setting) the origin of `parent` itself; the parts keep their own.
    mutating func attribute(to parent: ComposeOrigin) {
        for index in fields.indices {
            let field = fields[index].origin.field
            if field.hasPrefix(parent.field + "[") || field.hasPrefix(parent.field + ".") { fields[index].origin = parent }
        }
    }

    /// Moves `key` to the front, where a reader looks first (the image).
    mutating func moveToFront(_ key: String) {
        guard let index = fields.firstIndex(where: { $0.key == key }) else { return }
        fields.insert(fields.remove(at: index), at: 0)
    }

    mutating func remove(_ key: String) {
        fields.removeAll { $0.key == key }
    }

    /// The fields whose key is in `keys`, in the same order.
    func only(_ keys: Set<String>) -> SpecFields {
        SpecFields(fields: fields.filter { keys.contains($0.key) })
    }

    var node: InputNode {
        InputNode(.map(fields.map { InputNode.Entry(key: $0.key, keyLocation: $0.origin.location, value: $0.value) }))
    }

    /// Removes what `berthPath` (`ports[2]`, `healthcheck.interval`, `image`) names; returns where
    /// it came from, or `nil` when the field is not there (a required field is missing).
    mutating func drop(_ berthPath: Substring) -> ComposeOrigin? {
        let key = berthPath.prefix { $0 != "." && $0 != "[" }
        guard let index = fields.firstIndex(where: { $0.key == key }) else { return nil }
        let rest = berthPath.dropFirst(key.count)
        let field = fields[index]
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]"), let item = Int(rest.dropFirst().prefix(upTo: close)),
            case .list(var items) = field.value.content, items.indices.contains(item)
        {
            items.remove(at: item)
            fields[index].value.content = .list(items)
            let origin = field.itemOrigins.indices.contains(item) ? field.itemOrigins[item] : field.origin
            if fields[index].itemOrigins.indices.contains(item) { fields[index].itemOrigins.remove(at: item) }
            if items.isEmpty { fields.remove(at: index) }
            return origin
        }
        if rest.hasPrefix("."), case .map(var entries) = field.value.content {
            let sub = rest.dropFirst()
            let matches = entries.indices.filter { entry in
                let name = entries[entry].key
                return sub == name || sub.hasPrefix(name + ".") || sub.hasPrefix(name + "[")
            }
            if let entry = matches.max(by: { entries[$0].key.count < entries[$1].key.count }) {
                let name = entries[entry].key
                let location = entries[entry].fieldLocation
                entries.remove(at: entry)
                fields[index].value.content = .map(entries)
                return field.entryOrigins[name] ?? ComposeOrigin(field: field.origin.field, location: location ?? field.origin.location)
            }
        }
        fields.remove(at: index)
        return field.origin
    }
}

/// A Berth resource being generated: its identity, the spec fields with their compose origins,
/// and the notes written above it.
struct BerthDocument {
    var kind: ResourceKind
    var name: String
    var project: String
    /// The compose declaration the resource comes from.
    var origin: ComposeOrigin
    /// Comment lines written above the document.
    var notes: [String] = []
    var spec = SpecFields()
    /// A CronJob's `jobTemplate`.
    var jobTemplate: SpecFields?

    /// The whole document as Berth reads it.
    var node: InputNode {
        var specNode = spec.node
        if let jobTemplate, case .map(var entries) = specNode.content {
            entries.append(InputNode.Entry(key: "jobTemplate", value: jobTemplate.node))
            specNode.content = .map(entries)
        }
        var metadata: [(String, InputNode)] = [("name", .string(name))]
        if kind != .project { metadata.append(("project", .string(project))) }
        var document: [(String, InputNode)] = [
            ("apiVersion", .string(Resource.apiVersion)), ("kind", .string(kind.rawValue)), ("metadata", .map(metadata)),
        ]
        if kind != .project || !spec.fields.isEmpty { document.append(("spec", specNode)) }
        return .map(document, at: origin.location)
    }

    /// Reads the document with Berth's own reader, leaving out every value it refuses (each with a
    /// warning naming the compose field), until it reads cleanly. `nil` when it cannot: a required
    /// field (the image, the schedule) was refused or missing; the warnings say why.
    mutating func validated(log: inout WarningLog) -> Resource? {
        // Each pass leaves out one refused value: positions in a list move once an item is gone.
        for _ in 0..<1000 {
            let context = ReadContext()
            if let resource = Resource.read(node, context: context) { return resource }
            guard let issue = context.issues.first else { return nil }
            guard let dropped = drop(issue.path) else {
                log.warn(origin, "cannot translate \(kind) \(name): \(issue.path.isEmpty ? "" : "\(issue.path): ")\(issue.message)")
                return nil
            }
            log.warn(dropped, "Berth refuses the translated \(issue.path): \(issue.message); it is left out")
        }
        log.warn(origin, "cannot translate \(kind) \(name): its fields kept being refused")
        return nil
    }

    private mutating func drop(_ path: String) -> ComposeOrigin? {
        let templatePrefix = "spec.jobTemplate."
        if path.hasPrefix(templatePrefix) {
            return jobTemplate?.drop(path.dropFirst(templatePrefix.count))
        }
        guard path.hasPrefix("spec.") else { return nil }
        return spec.drop(path.dropFirst("spec.".count))
    }
}
