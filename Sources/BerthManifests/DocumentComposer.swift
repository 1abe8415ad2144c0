import BerthCore

/// Builds `InputNode` trees from libyaml events with an explicit stack, so no input can overflow the
/// call stack, and never expands an alias beyond `ManifestLimits.maxNodes`.
///
/// Problems in the content (duplicate keys, unknown tags, undefined aliases …) are collected and
/// composing goes on, so one run reports all of them; exceeding a limit stops at once by throwing.
struct DocumentComposer {
    private(set) var documents: [ManifestDocument] = []
    private(set) var issues: [ValidationIssue] = []

    private let file: String
    private let limits: ManifestLimits
    private var documentCount = 0
    private var issuesBeforeDocument = 0
    /// Values in the current document so far, each alias counted as the size of its target.
    private var nodeCount = 0
    private var stack: [Frame] = []
    private var anchors: [String: Piece] = [:]
    private var root: InputNode?

    init(file: String, limits: ManifestLimits) {
        self.file = file
        self.limits = limits
    }

    /// A finished node on its way into its parent.
    private struct Piece {
        var node: InputNode
        /// Where this occurrence is written (for an alias, the alias, not its anchor).
        var location: SourceLocation
        /// Values in the node, aliases expanded.
        var size: Int
        /// Levels of collections in the node: 0 for a scalar.
        var height: Int
        /// The text to use when the node is a mapping key; nil for collections.
        var keyText: String?
        var isMergeKey = false
    }

    /// What a mapping does with the next value it receives.
    private enum PendingValue {
        case entry(key: String, keyLocation: SourceLocation)
        case merge
        case discard
    }

    /// A collection still being read.
    private struct Frame {
        var isMapping: Bool
        var anchor: String?
        var location: SourceLocation
        var nodeCountAtStart: Int
        var height = 1
        var items: [InputNode] = []
        var entries: [InputNode.Entry] = []
        /// Keys written in this mapping, with where they were first written.
        var keys: [String: SourceLocation] = [:]
        /// nil while the mapping waits for a key.
        var pending: PendingValue?
        /// Mappings named by a `<<` merge key, and the entry position their keys go to.
        var merge: (sources: [InputNode], index: Int)?

        /// The entries with merged keys added where `<<` was written; written keys win, and among the
        /// merged mappings the earlier one wins.
        var mergedEntries: [InputNode.Entry] {
            guard let merge else { return entries }
            var taken = Set(keys.keys)
            var inherited: [InputNode.Entry] = []
            for case .map(let sourceEntries) in merge.sources.map(\.content) {
                inherited += sourceEntries.filter { taken.insert($0.key).inserted }
            }
            var result = entries
            result.insert(contentsOf: inherited, at: merge.index)
            return result
        }
    }

    mutating func consume(_ event: YAMLEvent) throws(ValidationError) {
        switch event {
        case .streamStart, .streamEnd:
            break
        case .documentStart(let location):
            documentCount += 1
            guard documentCount <= limits.maxDocuments else {
                throw stop(at: location, "the file has more than \(limits.maxDocuments) documents (limit maxDocuments); split it into several files")
            }
            issuesBeforeDocument = issues.count
            nodeCount = 0
            anchors = [:]
            root = nil
        case .documentEnd:
            if let root, root.content != .null, issues.count == issuesBeforeDocument {
                documents.append(ManifestDocument(file: file, index: documentCount - 1, root: root))
            }
        case .scalar(let scalar):
            guard scalar.value.utf8.count <= limits.maxScalarBytes else {
                throw stop(
                    at: scalar.location,
                    "this value is \(scalar.value.utf8.count) bytes, over the limit of \(limits.maxScalarBytes) bytes for one value (limit maxScalarBytes); keep large content in a separate file")
            }
            try count(1, at: scalar.location)
            let node = InputNode(content(of: scalar), location: scalar.location)
            let isMergeKey = scalar.isPlain && scalar.tag == nil && scalar.value == "<<"
            let piece = Piece(node: node, location: scalar.location, size: 1, height: 0, keyText: scalar.value, isMergeKey: isMergeKey)
            finish(piece, anchor: scalar.anchor)
        case .alias(let name, let location):
            try addAlias(name, at: location)
        case .collectionStart(let isMapping, let anchor, let tag, let location):
            guard stack.count < limits.maxDepth else {
                throw stop(at: location, "nesting is deeper than \(limits.maxDepth) levels (limit maxDepth); flatten the structure")
            }
            try count(1, at: location)
            checkCollectionTag(tag, isMapping: isMapping, at: location)
            stack.append(Frame(isMapping: isMapping, anchor: anchor, location: location, nodeCountAtStart: nodeCount - 1))
        case .collectionEnd:
            let frame = stack.removeLast()
            let content: InputNode.Content = frame.isMapping ? .map(frame.mergedEntries) : .list(frame.items)
            let piece = Piece(
                node: InputNode(content, location: frame.location),
                location: frame.location,
                size: nodeCount - frame.nodeCountAtStart,
                height: frame.height
            )
            finish(piece, anchor: frame.anchor)
        }
    }

    private mutating func addAlias(_ name: String, at location: SourceLocation) throws(ValidationError) {
        if stack.contains(where: { $0.anchor == name }) {
            report(at: location, "alias `*\(name)` is inside the node anchored as `&\(name)`, so it would contain itself; repeat the content instead")
            return attach(placeholder(at: location))
        }
        guard let target = anchors[name] else {
            report(at: location, "alias `*\(name)` refers to no anchor `&\(name)` earlier in this document; define the anchor before using it")
            return attach(placeholder(at: location))
        }
        guard stack.count + target.height <= limits.maxDepth else {
            throw stop(at: location, "alias `*\(name)` makes the nesting deeper than \(limits.maxDepth) levels (limit maxDepth); flatten the structure")
        }
        try count(target.size, at: location)
        attach(Piece(node: target.node, location: location, size: target.size, height: target.height, keyText: target.keyText))
    }

    /// Stands in for a value that could not be read, so the mapping around it stays aligned.
    private func placeholder(at location: SourceLocation) -> Piece {
        Piece(node: InputNode(.null, location: location), location: location, size: 1, height: 0)
    }

    private mutating func count(_ size: Int, at location: SourceLocation) throws(ValidationError) {
        nodeCount += size
        guard nodeCount <= limits.maxNodes else {
            throw stop(
                at: location, "the document has more than \(limits.maxNodes) values, counting every value an alias repeats (limit maxNodes); split it into several documents or use fewer aliases")
        }
    }

    private mutating func finish(_ piece: Piece, anchor: String?) {
        if let anchor { anchors[anchor] = piece }
        attach(piece)
    }

    private mutating func attach(_ piece: Piece) {
        guard !stack.isEmpty else {
            root = piece.node
            return
        }
        let top = stack.count - 1
        stack[top].height = max(stack[top].height, piece.height + 1)
        guard stack[top].isMapping else {
            stack[top].items.append(piece.node)
            return
        }
        switch stack[top].pending {
        case nil:
            stack[top].pending = pendingValue(forKey: piece, in: top)
        case .entry(let key, let keyLocation):
            stack[top].entries.append(InputNode.Entry(key: key, keyLocation: keyLocation, value: piece.node))
            stack[top].pending = nil
        case .merge:
            let sources = mergeSources(piece)
            stack[top].merge = (sources, stack[top].entries.count)
            stack[top].pending = nil
        case .discard:
            stack[top].pending = nil
        }
    }

    private mutating func pendingValue(forKey key: Piece, in top: Int) -> PendingValue {
        guard let text = key.keyText else {
            report(at: key.location, "a mapping key must be a single value, found \(key.node.kindDescription); write the key as plain text")
            return .discard
        }
        if let first = stack[top].keys[text] {
            report(at: key.location, "key `\(text)` is written twice, at line \(first.line) and line \(key.location.line); keep only one")
            return .discard
        }
        stack[top].keys[text] = key.location
        return key.isMergeKey ? .merge : .entry(key: text, keyLocation: key.location)
    }

    private mutating func mergeSources(_ value: Piece) -> [InputNode] {
        switch value.node.content {
        case .map:
            return [value.node]
        case .list(let items) where items.allSatisfy({ if case .map = $0.content { true } else { false } }):
            return items
        default:
            report(at: value.location, "merge key `<<` needs a mapping or a list of mappings, found \(value.node.kindDescription); write `<<: *anchor` or `<<: [*first, *second]`")
            return []
        }
    }

    private mutating func content(of scalar: YAMLEvent.Scalar) -> InputNode.Content {
        let text = scalar.value
        guard let tag = scalar.tag else { return scalar.isPlain ? CoreSchema.resolve(text) : .string(text) }
        let content: InputNode.Content?
        switch tag {
        case "!", Self.coreTag("str"): content = .string(text)
        case Self.coreTag("int"): content = CoreSchema.isInteger(text) ? .number(text) : nil
        case Self.coreTag("float"): content = CoreSchema.isInteger(text) || CoreSchema.isFloat(text) ? .number(text) : nil
        case Self.coreTag("bool"): content = CoreSchema.bool(text).map(InputNode.Content.bool)
        case Self.coreTag("null"): content = CoreSchema.isNull(text) ? .null : nil
        default:
            reportTag(tag, on: "a scalar", at: scalar.location)
            return .string(text)
        }
        guard let content else {
            report(at: scalar.location, "`\(text)` does not match its tag `\(Self.display(tag))`; fix the value or remove the tag")
            return .string(text)
        }
        return content
    }

    private mutating func checkCollectionTag(_ tag: String?, isMapping: Bool, at location: SourceLocation) {
        switch tag {
        case nil, "!": break
        case Self.coreTag("map") where isMapping, Self.coreTag("seq") where !isMapping: break
        case let tag?: reportTag(tag, on: isMapping ? "a mapping" : "a list", at: location)
        }
    }

    private mutating func reportTag(_ tag: String, on kind: String, at location: SourceLocation) {
        report(at: location, "tag `\(Self.display(tag))` cannot be used on \(kind); remove it (Berth reads only the YAML core tags !!str, !!int, !!float, !!bool, !!null, !!map and !!seq)")
    }

    private static func coreTag(_ name: String) -> String { "tag:yaml.org,2002:" + name }

    /// A tag as the user would have written it: `!!int` rather than `tag:yaml.org,2002:int`.
    private static func display(_ tag: String) -> String {
        tag.hasPrefix(coreTag("")) ? "!!" + tag.dropFirst(coreTag("").count) : tag
    }

    private mutating func report(at location: SourceLocation, _ message: String) {
        issues.append(ValidationIssue(location: location, message: message))
    }

    /// The error that ends the parse: every problem found so far, then this one.
    private func stop(at location: SourceLocation, _ message: String) -> ValidationError {
        ValidationError(issues: issues + [ValidationIssue(location: location, message: message)])
    }
}
