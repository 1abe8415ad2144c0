/// One `key=value` filter of a job listing (`GET /v1/jobs?label=`, `berth jobs list -l`): it
/// matches the jobs whose `metadata.labels` hold `key` with exactly `value`. Keys are any
/// non-empty string, as in `metadata.labels`; the value may be empty. Several filters all apply.
public struct LabelSelector: Sendable, Hashable, CustomStringConvertible {
    public let key: String
    public let value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    /// Splits at the first `=`: `team=geo` → key `team`, value `geo`.
    public init(parsing text: String) throws(ValidationError) {
        guard let split = text.firstIndex(of: "=") else {
            throw ValidationError("a label filter is key=value, found \(text.quoted)")
        }
        let key = String(text[..<split])
        guard !key.isEmpty else { throw ValidationError("a label filter names a key before =, found \(text.quoted)") }
        self.init(key: key, value: String(text[text.index(after: split)...]))
    }

    public var description: String { "\(key)=\(value)" }
}
