/// A tmpfs file system mounted in the container: `PATH[:OPTIONS]`, as compose's `tmpfs` and
/// `docker run --tmpfs` take it (`/run`, `/tmp:size=64m,mode=1777`). The options are the kernel's
/// tmpfs options and mount flags, comma-separated.
public struct TmpfsMount: Sendable, Hashable, Codable, CustomStringConvertible {
    public let path: String
    /// The options as written, without spaces; empty for none.
    public let options: String

    /// Options that take a value, and how their value reads.
    private static let valued: [String: @Sendable (String) -> Bool] = [
        "size": { isNumber($0, suffixes: "kKmMgGtTpPeE%") },
        "mode": { (1...4).contains($0.count) && $0.allSatisfy { ("0"..."7").contains($0) } },
        "uid": { isNumber($0, suffixes: "") },
        "gid": { isNumber($0, suffixes: "") },
        "nr_inodes": { isNumber($0, suffixes: "kKmMgG") },
        "nr_blocks": { isNumber($0, suffixes: "kKmMgG") },
        "mpol": { !$0.isEmpty },
    ]

    /// Mount flags the engine accepts on a tmpfs (moby `pkg/mount` flags, and `tmpcopyup`).
    private static let flags: Set<String> = [
        "defaults", "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "sync", "async", "dirsync",
        "mand", "nomand", "atime", "noatime", "diratime", "nodiratime", "relatime", "norelatime", "strictatime",
        "nostrictatime", "tmpcopyup", "notmpcopyup",
    ]

    public init(parsing text: String) throws(ValidationError) {
        let path = text.prefix { $0 != ":" }
        let options = text.dropFirst(path.count + 1)
        guard path.hasPrefix("/"), path.count > 1 else {
            throw Self.invalid(text, "the path \(String(path).quoted) must be an absolute path in the container other than /")
        }
        if text.contains(":") {
            guard !options.isEmpty else { throw Self.invalid(text, "options are missing after the :") }
            for option in options.split(separator: ",", omittingEmptySubsequences: false) {
                let pair = option.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = String(pair[0])
                if pair.count == 2, let valid = Self.valued[name] {
                    guard valid(String(pair[1])) else { throw Self.invalid(text, "\(name)=\(pair[1]) is not a valid \(name)") }
                } else if pair.count == 2 || !Self.flags.contains(name) {
                    let known = Self.valued.keys.sorted().map { "\($0)=…" } + ["ro", "noexec", "nosuid", "nodev", "…"]
                    throw Self.invalid(text, "unknown option \(String(option).quoted); use \(known.joined(separator: ", "))")
                }
            }
        }
        self.path = String(path)
        self.options = String(options)
    }

    private static func isNumber(_ text: String, suffixes: String) -> Bool {
        let digits = text.last.map { suffixes.contains($0) } == true ? text.dropLast() : Substring(text)
        return !digits.isEmpty && digits.allSatisfy(\.isASCIIDigit)
    }

    private static func invalid(_ text: String, _ advice: String) -> ValidationError {
        ValidationError("expected a tmpfs mount such as /run or /tmp:size=64m,mode=1777, found \(text.quoted); \(advice)")
    }

    public var description: String { options.isEmpty ? path : "\(path):\(options)" }

    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeGrammarValue(Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        try encoder.encodeGrammarValue(self)
    }
}
