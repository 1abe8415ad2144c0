/// Textual checks for IP addresses; nothing is resolved or looked up.
enum IPAddressSyntax {
    /// A dotted quad such as `127.0.0.1`; leading zeros are refused because some tools read them as octal.
    static func isIPv4(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { part in
                (1...3).contains(part.count) && part.allSatisfy(\.isASCIIDigit)
                    && (part == "0" || part.first != "0") && (Int(part) ?? 256) <= 255
            }
    }

    /// An IPv6 address in RFC 4291 text form: eight hex groups, at most one `::`, and optionally a
    /// dotted quad as the last 32 bits (`::ffff:10.0.0.1`). Zone suffixes (`%eth0`) are refused.
    static func isIPv6(_ text: Substring) -> Bool {
        let halves = text.split(separator: "::", omittingEmptySubsequences: false)
        guard halves.count <= 2,
            let head = groupCount(halves[0], allowsDottedQuad: halves.count == 1),
            let tail = halves.count == 2 ? groupCount(halves[1], allowsDottedQuad: true) : 0
        else { return false }
        return halves.count == 1 ? head == 8 : head + tail <= 7
    }

    /// How many 16-bit groups `text` holds (a dotted quad counts two), or nil when a group is malformed.
    private static func groupCount(_ text: Substring, allowsDottedQuad: Bool) -> Int? {
        guard !text.isEmpty else { return 0 }
        let groups = text.split(separator: ":", omittingEmptySubsequences: false)
        var count = 0
        for (index, group) in groups.enumerated() {
            if allowsDottedQuad, index == groups.count - 1, group.contains(".") {
                guard isIPv4(group) else { return nil }
                count += 2
            } else {
                guard (1...4).contains(group.count), group.allSatisfy(\.isASCIIHexDigit) else { return nil }
                count += 1
            }
        }
        return count
    }
}
