/// Who a controller is among the controllers of one store (`berth serve --node NAME
/// --node-label key=value`): a name, unique per store, and labels that jobs' `nodeSelector`s (and
/// later services' placement) match against.
public struct NodeIdentity: Sendable, Hashable, Codable {
    /// The node a controller is when `--node` is not given.
    public static let defaultName = "default"

    public var name: String
    public var labels: [String: String]

    public init(name: String = NodeIdentity.defaultName, labels: [String: String] = [:]) {
        self.name = name
        self.labels = labels
    }

    /// Whether this node carries every `key: value` of `selector` (an empty selector matches every node).
    public func matches(_ selector: [String: String]) -> Bool {
        selector.allSatisfy { labels[$0.key] == $0.value }
    }

    /// Node names follow the resource name rule (a lowercase DNS label), so they fit a URL path
    /// segment and a container label unchanged.
    public static func validateName(_ name: String) throws(ValidationError) {
        try ResourceName.validate(name)
    }

    /// The longest label key or value.
    public static let maximumLabelLength = 253

    /// A node label's key, as a `nodeSelector` key or `--node-label` key: 1 to 253 characters of
    /// letters, digits and `.`, `-`, `_`, `/` (the characters Docker and Kubernetes label keys use).
    public static func validateLabelKey(_ key: String) throws(ValidationError) {
        guard !key.isEmpty else { throw ValidationError("expected a non-empty node label key") }
        guard key.count <= maximumLabelLength else {
            throw ValidationError("node label key \(key.quoted) is \(key.count) characters long; at most \(maximumLabelLength)")
        }
        if let bad = key.first(where: { !($0.isASCIILetter || $0.isASCIIDigit || ".-_/".contains($0)) }) {
            throw ValidationError("node label key \(key.quoted) contains \(String(bad).quoted); use letters, digits, \".\", \"-\", \"_\" and \"/\"")
        }
    }

    /// A node label's value: up to 253 characters, no control characters (it may be empty).
    public static func validateLabelValue(_ value: String) throws(ValidationError) {
        guard value.count <= maximumLabelLength else {
            throw ValidationError("node label value \(value.quoted) is \(value.count) characters long; at most \(maximumLabelLength)")
        }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ValidationError("node label value \(value.quoted) contains a control character")
        }
    }

    /// `key=value`, split at the first `=`, both checked.
    public static func parseLabel(_ text: String) throws(ValidationError) -> (key: String, value: String) {
        guard let split = text.firstIndex(of: "=") else { throw ValidationError("a node label is key=value, found \(text.quoted)") }
        let key = String(text[..<split]), value = String(text[text.index(after: split)...])
        try validateLabelKey(key)
        try validateLabelValue(value)
        return (key, value)
    }

    /// Validates and returns a node name, for use with ``ValueReader/parse(_:)``.
    static func validatedName(_ name: String) throws(ValidationError) -> String {
        try validateName(name)
        return name
    }

    /// Validates and returns a node label's value, for use with ``ValueReader/parse(_:)``.
    static func validatedLabelValue(_ value: String) throws(ValidationError) -> String {
        try validateLabelValue(value)
        return value
    }
}

extension ValueReader {
    /// A `nodeSelector` (a Job's, a Service's placement): node label keys and values, each checked.
    func nodeSelector() throws -> [String: String] {
        try dictionary(validateKey: NodeIdentity.validateLabelKey) { try $0.parse(NodeIdentity.validatedLabelValue) }
    }
}
