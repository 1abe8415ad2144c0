/// The value of one environment variable: a literal, an age-encrypted value, or a reference
/// resolved by the controller at apply time so that secrets never live in manifests, logs or API
/// answers in plain text.
public enum EnvValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case literal(String)
    /// The value of this environment variable of the controller.
    case fromEnv(String)
    /// The contents of this file on the controller's host (trailing newline removed; decrypted
    /// when it is an age-armored block).
    case fromFile(String)
    /// An age-armored block (``AgeArmor``), decrypted by the controller with its identity when it
    /// creates the container. A string written as such a block is read as this case.
    case encrypted(String)

    /// A string value: an age-armored block (validated) or a literal.
    static func parsing(_ text: String) throws(ValidationError) -> EnvValue {
        AgeArmor.isArmored(text) ? .encrypted(try AgeArmor.validated(text)) : .literal(text)
    }

    static func read(_ reader: ValueReader) throws -> EnvValue {
        guard case .map = reader.node.content else { return try reader.parse(parsing) }
        let map = try reader.map()
        defer { map.finish() }
        let fromEnv = map.optional("fromEnv") { try $0.parse(EnvironmentName.validated) }
        let fromFile = map.optional("fromFile") { reader in
            let path = try reader.nonEmptyString()
            guard path.hasPrefix("/") else { throw reader.fail("expected an absolute path, found \"\(path)\"") }
            return path
        }
        switch (fromEnv, fromFile) {
        case (let name?, nil): return .fromEnv(name)
        case (nil, let path?): return .fromFile(path)
        // The one reference given is invalid, and its own error says why.
        case (nil, nil) where map.has("fromEnv") != map.has("fromFile"): throw AlreadyReported()
        default: throw reader.fail("expected a string, {fromEnv: NAME} or {fromFile: /path}")
        }
    }

    private enum CodingKeys: String, CodingKey { case fromEnv, fromFile }

    public init(from decoder: any Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            // Stored values were validated when written; the armor's presence is what tells.
            self = AgeArmor.isArmored(text) ? .encrypted(text) : .literal(text)
            return
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let name = try container.decodeIfPresent(String.self, forKey: .fromEnv) {
            self = .fromEnv(name)
        } else {
            self = .fromFile(try container.decode(String.self, forKey: .fromFile))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .literal(let text), .encrypted(let text):
            var container = encoder.singleValueContainer()
            try container.encode(text)
        case .fromEnv(let name):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .fromEnv)
        case .fromFile(let path):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .fromFile)
        }
    }

    /// Literal values print as they are; references print as the reference and encrypted values
    /// as `(age-encrypted)`, never a resolved or decrypted secret.
    public var description: String {
        switch self {
        case .literal(let text): text
        case .encrypted: "(age-encrypted)"
        case .fromEnv(let name): "{fromEnv: \(name)}"
        case .fromFile(let path): "{fromFile: \(path)}"
        }
    }
}

extension EnvironmentName {
    /// Validates and returns `name`, for use with ``ValueReader/parse(_:)``.
    static func validated(_ name: String) throws(ValidationError) -> String {
        try validate(name)
        return name
    }
}

extension EnvValue {
    /// What answers show in place of a literal value: the name is shown, the value never.
    public static let hidden = EnvValue.literal("(hidden)")
}

extension JobSpec {
    /// Whether any env value is a literal, which answers hide.
    public var hasLiteralEnv: Bool {
        container.env.values.contains { if case .literal = $0 { true } else { false } }
    }

    /// The spec as API answers and the CLI show it: every literal env value replaced by
    /// ``EnvValue/hidden`` (literal values of submitted jobs are often secrets); references
    /// (`fromEnv`, `fromFile`) show as they are, since they name no secret.
    public func hidingLiteralEnv() -> JobSpec {
        guard hasLiteralEnv else { return self }
        var shown = self
        for (name, value) in shown.container.env {
            if case .literal = value { shown.container.env[name] = .hidden }
        }
        return shown
    }
}
