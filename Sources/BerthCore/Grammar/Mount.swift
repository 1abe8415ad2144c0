/// A volume or host directory mounted into a container: `data:/var/lib/data`, `/srv/config:/config:ro`.
///
/// The source is a volume name or an absolute host path; relative paths are refused because what
/// they are relative to (the manifest, the working directory, the daemon) would be a guess.
public struct Mount: Sendable, Hashable, Codable, CustomStringConvertible {
    /// What is mounted.
    public enum Source: Sendable, Hashable {
        /// A named volume, following `ResourceName`.
        case volume(String)
        /// An absolute path on the Docker host.
        case hostPath(String)
    }

    public let source: Source
    /// The absolute path inside the container.
    public let target: String
    public let readOnly: Bool

    /// A mount as given, unchecked: for mounts read back from the engine (volumes by engine name).
    public init(source: Source, target: String, readOnly: Bool) {
        self.source = source
        self.target = target
        self.readOnly = readOnly
    }

    public init(parsing text: String) throws(ValidationError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count) else {
            throw Self.invalid(text, "write source:target, optionally followed by :ro or :rw")
        }
        guard !parts.contains(where: \.isEmpty) else { throw Self.invalid(text, "a part is empty") }

        let source = String(parts[0])
        if source.hasPrefix("/") {
            self.source = .hostPath(source)
        } else if source.hasPrefix(".") || source.contains("/") {
            throw Self.invalid(text, "use an absolute host path such as /srv/app instead of \(source.quoted)")
        } else {
            do throws(ValidationError) {
                try ResourceName.validate(source)
            } catch {
                throw Self.invalid(text, "volume \(error.description)")
            }
            self.source = .volume(source)
        }

        target = String(parts[1])
        guard target.hasPrefix("/") else {
            throw Self.invalid(
                text, "the target \(target.quoted) must be an absolute path in the container, such as /data")
        }
        switch parts.count == 3 ? parts[2] : "rw" {
        case "ro": readOnly = true
        case "rw": readOnly = false
        case let mode: throw Self.invalid(text, "unknown mode \(mode.quoted); use ro or rw")
        }
    }

    private static func invalid(_ text: String, _ advice: String) -> ValidationError {
        ValidationError(
            "expected a mount such as data:/var/lib/data or /srv/config:/config:ro, found \(text.quoted); \(advice)"
        )
    }

    /// `static:/static`, `/srv/config:/config:ro`; read-write is the default and is not written.
    public var description: String {
        let sourceText: String
        switch source {
        case .volume(let name): sourceText = name
        case .hostPath(let path): sourceText = path
        }
        return "\(sourceText):\(target)" + (readOnly ? ":ro" : "")
    }

    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeGrammarValue(Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        try encoder.encodeGrammarValue(self)
    }
}
