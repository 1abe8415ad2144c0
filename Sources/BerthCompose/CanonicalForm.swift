import BerthCore

/// Rewrites one file's services and top-level sections in the canonical long form of
/// docs/compose.md, "The canonical form", so files can be merged entry by entry and the
/// translator reads one shape per field. Relative paths are made absolute against `directory`.
struct CanonicalForm {
    /// The directory relative paths in this file resolve against.
    let directory: String
    /// The user's home, for `~`.
    let home: String
    /// The project's variables, for `environment` entries written without a value.
    let environment: [String: String]

    /// Fields that hold a list, where compose also accepts a single string.
    static let stringLists: Set<String> = ["tmpfs", "dns", "dns_search", "cap_add", "cap_drop", "devices", "security_opt"]
    /// Fields that hold `name: value`, where compose also accepts a `name=value` list.
    static let listMappings: Set<String> = ["environment", "labels", "sysctls", "extra_hosts", "annotations"]

    /// A service in canonical form; `path` is `services.NAME`.
    func service(_ node: InputNode, path: String) throws(ComposeError) -> InputNode {
        guard let entries = node.entries else {
            throw ComposeError("a service is a mapping of its fields (`image:` …), found \(node.kindDescription)", path: path, at: node.location)
        }
        var result = node
        var canonical: [InputNode.Entry] = []
        for entry in entries {
            var entry = entry
            entry.value = try field(entry.key, entry.value, path: FieldPath.key(path, entry.key))
            canonical.append(entry)
        }
        result.content = .map(canonical)
        return result
    }

    private func field(_ key: String, _ value: InputNode, path: String) throws(ComposeError) -> InputNode {
        switch key {
        case "command", "entrypoint": return try command(value, path: path)
        case "environment": return try mapping(value, path: path, separators: ["="], resolveMissing: true)
        case "labels", "sysctls", "annotations": return try mapping(value, path: path, separators: ["="], resolveMissing: false)
        case "extra_hosts": return try mapping(value, path: path, separators: ["=", ":"], resolveMissing: false)
        case "ports": return try list(value, path: path) { item, itemPath throws(ComposeError) in try port(item, path: itemPath) }
        case "expose": return try list(value, path: path) { item, itemPath throws(ComposeError) in [try scalarString(item, path: itemPath)] }
        case "volumes": return try list(value, path: path) { item, itemPath throws(ComposeError) in [try volume(item, path: itemPath)] }
        case "secrets", "configs": return try list(value, path: path) { item, _ in [sourceOnly(item)] }
        case "depends_on": return try dependsOn(value, path: path)
        case "healthcheck": return healthcheck(value)
        case "networks": return try namedMapping(value, path: path)
        case "ulimits": return ulimits(value)
        case "env_file": return try envFile(value, path: path)
        case "build": return try build(value, path: path)
        case let key where Self.stringLists.contains(key):
            if value.stringValue != nil { return InputNode(.list([value]), location: value.location) }
            return value
        default: return value
        }
    }

    /// A secret or config named by a string becomes `{source}`.
    private func sourceOnly(_ item: InputNode) -> InputNode {
        guard let name = item.stringValue else { return item }
        return InputNode.map([("source", InputNode.string(name, at: item.location))], at: item.location)
    }

    /// A string is split into words as a shell would; list items become strings.
    private func command(_ value: InputNode, path: String) throws(ComposeError) -> InputNode {
        switch value.content {
        case .string(let text):
            do {
                return InputNode(.list(try ShellWords.split(text).map { InputNode.string($0, at: value.location) }), location: value.location)
            } catch {
                throw ComposeError("the command \(error.message); close the quote or write the command as a list", path: path, at: value.location)
            }
        case .list(let items):
            var words: [InputNode] = []
            for (index, item) in items.enumerated() { words.append(try scalarString(item, path: FieldPath.index(path, index))) }
            return InputNode(.list(words), location: value.location)
        default:
            return value
        }
    }

    /// A scalar as a string node (`80` → `"80"`).
    private func scalarString(_ value: InputNode, path: String) throws(ComposeError) -> InputNode {
        guard let text = value.scalarText else {
            throw ComposeError("expected a string, found \(value.kindDescription)", path: path, at: value.location)
        }
        return .string(text, at: value.location)
    }

    /// Each item of a list rewritten into zero or more items.
    private func list(_ value: InputNode, path: String, _ transform: (InputNode, String) throws(ComposeError) -> [InputNode]) throws(ComposeError) -> InputNode {
        guard let items = value.items else {
            if value.isNull { return InputNode(.list([]), location: value.location) }
            throw ComposeError("expected a list, found \(value.kindDescription)", path: path, at: value.location)
        }
        var result: [InputNode] = []
        for (index, item) in items.enumerated() { result += try transform(item, FieldPath.index(path, index)) }
        return InputNode(.list(result), location: value.location)
    }

    /// `KEY=VALUE` lists become mappings, values strings. A key with no value takes the
    /// project's variable when `resolveMissing` (and is null without one), else is empty.
    private func mapping(_ value: InputNode, path: String, separators: [Character], resolveMissing: Bool) throws(ComposeError) -> InputNode {
        func missing(_ key: String, at location: SourceLocation?) -> InputNode {
            guard resolveMissing else { return .string("", at: location) }
            return environment[key].map { .string($0, at: location) } ?? InputNode(.null, location: location)
        }
        switch value.content {
        case .map(let entries):
            return InputNode(
                .map(
                    entries.map { entry in
                        var entry = entry
                        entry.value = entry.value.scalarText.map { .string($0, at: entry.value.location) } ?? (entry.value.isNull ? missing(entry.key, at: entry.value.location) : entry.value)
                        return entry
                    }), location: value.location)
        case .list(let items):
            var result = InputNode(.map([]), location: value.location)
            for (index, item) in items.enumerated() {
                guard let text = item.scalarText else {
                    throw ComposeError("expected \"KEY=VALUE\", found \(item.kindDescription)", path: FieldPath.index(path, index), at: item.location)
                }
                let cut = separators.lazy.compactMap { text.firstIndex(of: $0) }.first
                let key = cut.map { String(text[..<$0]) } ?? text
                let entryValue = cut.map { InputNode.string(String(text[text.index(after: $0)...]), at: item.location) } ?? missing(key, at: item.location)
                result.set(key, entryValue, keyLocation: item.location)
            }
            return result
        case .null:
            return InputNode(.map([]), location: value.location)
        default:
            throw ComposeError("expected a mapping or a list of \"KEY=VALUE\", found \(value.kindDescription)", path: path, at: value.location)
        }
    }

    private func port(_ item: InputNode, path: String) throws(ComposeError) -> [InputNode] {
        if let text = item.scalarText, item.entries == nil {
            return try ShortSyntax.ports(text, path: path, at: item.location)
        }
        guard var long = item.entries.map({ _ in item }) else {
            throw ComposeError("\(ShortSyntax.portFormat), found \(item.kindDescription)", path: path, at: item.location)
        }
        if let target = long["target"], let text = target.scalarText, let number = Int(text) {
            long.set("target", .number(number, at: target.location))
        }
        if let published = long["published"], let text = published.scalarText {
            long.set("published", .string(text, at: published.location))
        }
        if long["protocol"] == nil { long.set("protocol", .string("tcp", at: item.location)) }
        if long["mode"] == nil { long.set("mode", .string("ingress", at: item.location)) }
        return [long]
    }

    private func volume(_ item: InputNode, path: String) throws(ComposeError) -> InputNode {
        if let text = item.stringValue {
            return try ShortSyntax.volume(text, path: path, at: item.location, directory: directory, home: home)
        }
        guard item.entries != nil else {
            throw ComposeError("\(ShortSyntax.volumeFormat), found \(item.kindDescription)", path: path, at: item.location)
        }
        var long = item
        if long["type"]?.stringValue == "bind", let source = long["source"], let text = source.stringValue {
            long.set("source", .string(ComposePaths.absolute(text, against: directory, home: home), at: source.location))
        }
        return long
    }

    /// A list of names becomes `name: {condition: service_started, required: true}`, as does a name
    /// mapped to null; a mapping keeps its conditions.
    private func dependsOn(_ value: InputNode, path: String) throws(ComposeError) -> InputNode {
        guard value.items != nil || value.entries != nil else {
            throw ComposeError("expected a list of service names or a mapping, found \(value.kindDescription)", path: path, at: value.location)
        }
        var result = try namedMapping(value, path: path, reading: \.stringValue, expected: "a service name")
        result.content = .map(
            (result.entries ?? []).map { entry in
                var entry = entry
                if entry.value["condition"] == nil { entry.value.set("condition", .string("service_started", at: entry.value.location)) }
                if entry.value["required"] == nil { entry.value.set("required", InputNode(.bool(true), location: entry.value.location)) }
                return entry
            })
        return result
    }

    /// A string `test` becomes `["CMD-SHELL", test]`; `retries` a number.
    private func healthcheck(_ value: InputNode) -> InputNode {
        var result = value
        if let test = value["test"], let text = test.stringValue {
            result.set("test", InputNode(.list([.string("CMD-SHELL", at: test.location), .string(text, at: test.location)]), location: test.location))
        }
        if let retries = value["retries"], let text = retries.stringValue, let number = Int(text) {
            result.set("retries", .number(number, at: retries.location))
        }
        return result
    }

    /// A list of names (read by `reading`), or a mapping with null values, becomes `name: {…}`.
    private func namedMapping(
        _ value: InputNode, path: String, reading: KeyPath<InputNode, String?> = \.scalarText, expected: String = "a name"
    ) throws(ComposeError) -> InputNode {
        switch value.content {
        case .list(let items):
            var result = InputNode(.map([]), location: value.location)
            for (index, item) in items.enumerated() {
                guard let name = item[keyPath: reading] else {
                    throw ComposeError("expected \(expected), found \(item.kindDescription)", path: FieldPath.index(path, index), at: item.location)
                }
                result.set(name, InputNode(.map([]), location: item.location), keyLocation: item.location)
            }
            return result
        case .map(let entries):
            return InputNode(
                .map(
                    entries.map { entry in
                        var entry = entry
                        if entry.value.isNull { entry.value = InputNode(.map([]), location: entry.value.location ?? entry.keyLocation) }
                        return entry
                    }), location: value.location)
        case .null:
            return InputNode(.map([]), location: value.location)
        default:
            throw ComposeError("expected a list of names or a mapping, found \(value.kindDescription)", path: path, at: value.location)
        }
    }

    /// `nofile: 1024` becomes `nofile: {soft: 1024, hard: 1024}`.
    private func ulimits(_ value: InputNode) -> InputNode {
        guard let entries = value.entries else { return value }
        return InputNode(
            .map(
                entries.map { entry in
                    var entry = entry
                    if entry.value.scalarText != nil {
                        entry.value = .map([("soft", entry.value), ("hard", entry.value)], at: entry.value.location)
                    }
                    return entry
                }), location: value.location)
    }

    /// Every form becomes a list of `{path (absolute), required}`.
    private func envFile(_ value: InputNode, path: String) throws(ComposeError) -> InputNode {
        let items = value.items ?? [value]
        var result: [InputNode] = []
        for (index, item) in items.enumerated() {
            let itemPath = value.items == nil ? path : FieldPath.index(path, index)
            let file = item.stringValue ?? item["path"]?.stringValue
            guard let file else {
                throw ComposeError("expected a file path or `{path, required}`, found \(item.kindDescription)", path: itemPath, at: item.location)
            }
            let required = item["required"].map { $0.content != .bool(false) && $0.stringValue != "false" } ?? true
            result.append(
                .map(
                    [("path", .string(ComposePaths.absolute(file, against: directory, home: home), at: item.location)), ("required", InputNode(.bool(required), location: item.location))],
                    at: item.location))
        }
        return InputNode(.list(result), location: value.location)
    }

    /// A string becomes `{context}`; a local context is made absolute; `args` a mapping.
    private func build(_ value: InputNode, path: String) throws(ComposeError) -> InputNode {
        var result = value.stringValue.map { InputNode.map([("context", .string($0, at: value.location))], at: value.location) } ?? value
        guard result.entries != nil else { return result }
        let context = result["context"] ?? .string(".", at: value.location)
        if let text = context.stringValue, !ComposePaths.isRemote(text) {
            result.set("context", .string(ComposePaths.absolute(text, against: directory, home: home), at: context.location))
        }
        if let args = result["args"] {
            result.set("args", try mapping(args, path: FieldPath.key(path, "args"), separators: ["="], resolveMissing: true))
        }
        return result
    }

    /// A top-level `networks`, `volumes`, `secrets` or `configs` section: null entries empty,
    /// an external entry named, `file` absolute.
    func section(_ name: String, _ value: InputNode) throws(ComposeError) -> InputNode {
        if value.isNull { return InputNode(.map([]), location: value.location) }
        guard let entries = value.entries else {
            throw ComposeError("expected a mapping of \(name) by name, found \(value.kindDescription)", path: name, at: value.location)
        }
        var canonical: [InputNode.Entry] = []
        for var entry in entries {
            if entry.value.isNull { entry.value = InputNode(.map([]), location: entry.keyLocation) }
            guard entry.value.entries != nil else {
                throw ComposeError("expected a mapping, found \(entry.value.kindDescription)", path: FieldPath.key(name, entry.key), at: entry.value.location)
            }
            // The legacy `external: {name: x}` form is `external: true` with `name: x`.
            if let external = entry.value["external"], let externalName = external["name"] {
                entry.value.set("external", InputNode(.bool(true), location: external.location))
                entry.value.set("name", externalName)
            }
            if entry.value["external"]?.content == .bool(true), entry.value["name"] == nil {
                entry.value.set("name", .string(entry.key, at: entry.keyLocation))
            }
            if let file = entry.value["file"], let text = file.stringValue {
                entry.value.set("file", .string(ComposePaths.absolute(text, against: directory, home: home), at: file.location))
            }
            canonical.append(entry)
        }
        return InputNode(.map(canonical), location: value.location)
    }
}
