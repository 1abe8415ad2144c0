/// A Docker image reference, `[registry[:port]/]path[:tag][@sha256:<64 hex digits>]`, checked with
/// the rules of distribution/reference: `nginx:1.27`, `ghcr.io/org/app:v2`, `localhost:5000/app@sha256:…`.
///
/// The first path component names a registry when it contains `.` or `:` or is `localhost`, as
/// Docker reads it. Nothing is normalized: `nginx` stays `nginx`, not `docker.io/library/nginx`.
public struct ImageReference: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Registry host with optional port (`ghcr.io`, `localhost:5000`, `[::1]:5000`); nil for Docker Hub.
    public let registry: String?
    /// Slash-separated lowercase path (`nginx`, `org/app`).
    public let repository: String
    public let tag: String?
    /// `sha256:` followed by 64 lowercase hex digits.
    public let digest: String?

    /// The tag Docker pulls: the written tag, or `latest` when there is neither tag nor digest.
    public var effectiveTag: String? {
        tag ?? (digest == nil ? "latest" : nil)
    }

    /// distribution/reference's limit for registry plus repository.
    private static let longestName = 255

    public init(parsing text: String) throws(ValidationError) {
        var rest = Substring(text)
        var digest: Substring?
        if let at = rest.firstIndex(of: "@") {
            digest = rest[rest.index(after: at)...]
            rest = rest[..<at]
        }
        var tag: Substring?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = rest[rest.index(after: colon)...]
            rest = rest[..<colon]
        }
        var registry: Substring?
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            if first.contains(where: { $0 == "." || $0 == ":" }) || first == "localhost" {
                registry = first
                rest = rest[rest.index(after: slash)...]
            }
        }

        if let registry { try Self.checkRegistry(registry, in: text) }
        try Self.checkRepository(rest, in: text)
        if let tag { try Self.checkTag(tag, in: text) }
        if let digest { try Self.checkDigest(digest, in: text) }
        guard (registry.map { $0.count + 1 } ?? 0) + rest.count <= Self.longestName else {
            throw Self.invalid(text, "registry and repository together are at most \(Self.longestName) characters")
        }
        self.registry = registry.map(String.init)
        self.repository = String(rest)
        self.tag = tag.map(String.init)
        self.digest = digest.map(String.init)
    }

    /// A host name, IPv4 address or bracketed IPv6 address, optionally followed by `:port`.
    private static func checkRegistry(_ registry: Substring, in text: String) throws(ValidationError) {
        var host = registry
        var port: Substring?
        if registry.first == "[", let close = registry.firstIndex(of: "]") {
            host = registry[...close]
            let afterHost = registry[registry.index(after: close)...]
            if !afterHost.isEmpty {
                guard afterHost.first == ":" else {
                    throw invalid(text, "registry \(registry.quoted) is not a host[:port]")
                }
                port = afterHost.dropFirst()
            }
        } else if let colon = registry.firstIndex(of: ":") {
            host = registry[..<colon]
            port = registry[registry.index(after: colon)...]
        }
        let isHost =
            host.first == "["
            ? host.last == "]" && IPAddressSyntax.isIPv6(host.dropFirst().dropLast())
            : host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isDomainComponent)
        guard isHost else { throw invalid(text, "registry host \(host.quoted) is not a valid host name or IP address") }
        if let port, port.isEmpty || !port.allSatisfy(\.isASCIIDigit) {
            throw invalid(text, "registry port \(port.quoted) is not a number")
        }
    }

    /// `[A-Za-z0-9]` or `[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]`.
    private static func isDomainComponent(_ component: Substring) -> Bool {
        guard let first = component.first, let last = component.last else { return false }
        return first != "-" && last != "-" && component.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "-" }
    }

    private static func checkRepository(_ repository: Substring, in text: String) throws(ValidationError) {
        guard !repository.isEmpty else { throw invalid(text, "the image name is missing") }
        if repository.contains(where: \.isASCIIUppercase) {
            throw invalid(text, "image names are lowercase, use \(repository.lowercased().quoted)")
        }
        for component in repository.split(separator: "/", omittingEmptySubsequences: false) {
            guard !component.isEmpty else { throw invalid(text, "the image name has an empty path component") }
            guard isPathComponent(component) else {
                throw invalid(
                    text,
                    "path component \(component.quoted) may only hold a-z and 0-9, "
                        + "joined by \".\", \"_\", \"__\" or dashes"
                )
            }
        }
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
    private static func isPathComponent(_ component: Substring) -> Bool {
        var separator = ""
        var afterAlphanumeric = false
        for character in component {
            if character.isASCIILowercase || character.isASCIIDigit {
                guard separator.isEmpty || [".", "_", "__"].contains(separator) || separator.allSatisfy({ $0 == "-" })
                else { return false }
                separator = ""
                afterAlphanumeric = true
            } else if afterAlphanumeric, character == "." || character == "_" || character == "-" {
                separator.append(character)
            } else {
                return false
            }
        }
        return afterAlphanumeric && separator.isEmpty
    }

    /// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
    private static func checkTag(_ tag: Substring, in text: String) throws(ValidationError) {
        let isWordCharacter = { (character: Character) in
            character.isASCIILetter || character.isASCIIDigit || character == "_"
        }
        guard let first = tag.first, isWordCharacter(first), tag.count <= 128,
            tag.allSatisfy({ isWordCharacter($0) || $0 == "." || $0 == "-" })
        else {
            throw invalid(
                text,
                "tag \(tag.quoted) must start with a letter, digit or \"_\" "
                    + "and hold at most 128 letters, digits, \"_\", \".\" or \"-\""
            )
        }
    }

    private static func checkDigest(_ digest: Substring, in text: String) throws(ValidationError) {
        let hex = digest.dropFirst("sha256:".count)
        guard digest.hasPrefix("sha256:"), hex.count == 64,
            hex.allSatisfy({ $0.isASCIIHexDigit && !$0.isASCIIUppercase })
        else {
            throw invalid(text, "digest \(digest.quoted) must be sha256: followed by 64 lowercase hex digits")
        }
    }

    private static func invalid(_ text: String, _ advice: String) -> ValidationError {
        ValidationError(
            "expected an image reference such as nginx:1.27 or ghcr.io/org/app:v2, found \(text.quoted); \(advice)"
        )
    }

    /// `[registry/]repository[:tag][@digest]`
    public var description: String {
        var text = registry.map { "\($0)/" } ?? ""
        text += repository
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }

    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeGrammarValue(Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        try encoder.encodeGrammarValue(self)
    }
}
