/// The rule for resource and volume names: a lowercase DNS label, so a name can become part of a
/// container name, a hostname and a Docker label value unchanged.
public enum ResourceName {
    /// The longest name a DNS label allows.
    public static let maximumLength = 63

    /// Checks that `name` has 1–63 characters of `a-z`, `0-9` and `-`, starting and ending with a letter or digit.
    public static func validate(_ name: String) throws(ValidationError) {
        guard !name.isEmpty else {
            throw ValidationError("expected a name of lowercase letters, digits and \"-\", found \"\"")
        }
        if name.contains(where: \.isASCIIUppercase) {
            throw ValidationError("names are lowercase, found \(name.quoted); use \(name.lowercased().quoted)")
        }
        if let character = name.first(where: { !($0.isASCIILowercase || $0.isASCIIDigit || $0 == "-") }) {
            throw ValidationError(
                "name \(name.quoted) contains \(String(character).quoted); use only a-z, 0-9 and \"-\""
            )
        }
        guard name.count <= maximumLength else {
            throw ValidationError(
                "name \(name.quoted) is \(name.count) characters long; names are at most \(maximumLength)"
            )
        }
        guard name.first != "-", name.last != "-" else {
            throw ValidationError("name \(name.quoted) must start and end with a letter or digit")
        }
    }
}
