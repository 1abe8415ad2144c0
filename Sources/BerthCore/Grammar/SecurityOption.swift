/// One `securityOpt` entry, as `docker run --security-opt` takes it: `KEY=VALUE` (or the older
/// `KEY:VALUE`). Stored and shown as `KEY=VALUE`.
///
/// | key | values |
/// | --- | --- |
/// | `seccomp` | `unconfined`, `builtin` (the engine's default profile), or a profile's JSON |
/// | `apparmor` | a profile loaded on the host, or `unconfined` |
/// | `label` | `disable`, `nested`, or `user:…`, `role:…`, `type:…`, `level:…`, `filetype:…` (SELinux) |
/// | `no-new-privileges` | `true` (also written bare); the same as ``ContainerSpec/noNewPrivileges`` |
/// | `systempaths` | `unconfined`: unmasks `/proc` and `/sys` paths the engine hides |
public struct SecurityOption: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Key: String, Sendable, Hashable, CaseIterable {
        case seccomp, apparmor, label
        case noNewPrivileges = "no-new-privileges"
        case systempaths
    }

    public let key: Key
    public let value: String

    /// The SELinux label fields that take a value after `:`.
    private static let labelFields = ["user", "role", "type", "level", "filetype"]

    public init(parsing text: String) throws(ValidationError) {
        // The engine's own split: at the first `=` when there is one, else at the first `:`.
        let name: String, rest: String?
        if let split = text.firstIndex(of: "=") ?? text.firstIndex(of: ":") {
            name = String(text[..<split])
            rest = String(text[text.index(after: split)...])
        } else {
            name = text
            rest = nil
        }
        guard let key = Key(rawValue: name) else {
            let keys = Key.allCases.map(\.rawValue)
            throw ValidationError(
                "expected a security option such as seccomp=unconfined, apparmor=PROFILE, label=disable or no-new-privileges, found \(text.quoted); known keys: \(keys.joined(separator: ", "))\(Suggestion.didYouMean(name, among: keys))"
            )
        }
        self.key = key
        switch key {
        case .noNewPrivileges:
            guard rest == nil || rest == "true" else {
                throw ValidationError("expected no-new-privileges or no-new-privileges=true, found \(text.quoted); it is off unless set, so leave it out to keep it off")
            }
            value = "true"
        case .seccomp:
            guard let rest, rest == "unconfined" || rest == "builtin" || rest.first == "{" else {
                throw ValidationError(
                    "expected seccomp=unconfined, seccomp=builtin or seccomp={…} with a profile's JSON, found \(text.quoted); the engine takes the profile itself, not the path of its file")
            }
            value = rest
        case .apparmor:
            guard let rest, !rest.isEmpty, !rest.contains(where: \.isWhitespace) else {
                throw ValidationError("expected apparmor=PROFILE with the name of a profile loaded on the host, or apparmor=unconfined, found \(text.quoted)")
            }
            value = rest
        case .label:
            let parts = rest?.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false) ?? []
            let isField = parts.count == 2 && Self.labelFields.contains(String(parts[0])) && !parts[1].isEmpty
            guard let rest, rest == "disable" || rest == "nested" || isField else {
                throw ValidationError("expected label=disable, label=nested or label=FIELD:VALUE with FIELD one of \(Self.labelFields.joined(separator: ", ")), found \(text.quoted)")
            }
            value = rest
        case .systempaths:
            guard rest == "unconfined" else {
                throw ValidationError("expected systempaths=unconfined, found \(text.quoted)")
            }
            value = "unconfined"
        }
    }

    /// Whether the option only narrows what the container may do (`no-new-privileges`); every
    /// other one replaces or turns off a confinement the engine applies by default.
    public var onlyNarrows: Bool { key == .noNewPrivileges }

    public var description: String { "\(key.rawValue)=\(value)" }

    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeGrammarValue(Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        try encoder.encodeGrammarValue(self)
    }
}
