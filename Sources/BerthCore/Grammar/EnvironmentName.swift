/// The rule for environment variable names: `[A-Za-z_][A-Za-z0-9_]*`, the portable shell form.
public enum EnvironmentName {
    /// Checks that `name` is a letter or `_` followed by letters, digits and `_`.
    public static func validate(_ name: String) throws(ValidationError) {
        guard let first = name.first else {
            throw ValidationError("expected an environment variable name such as DATABASE_URL, found \"\"")
        }
        if first.isASCIIDigit {
            throw ValidationError("environment variable names cannot start with a digit, found \(name.quoted)")
        }
        if let character = name.first(where: { !($0.isASCIILetter || $0.isASCIIDigit || $0 == "_") }) {
            throw ValidationError(
                "environment variable name \(name.quoted) contains \(String(character).quoted); "
                    + "use only letters, digits and \"_\""
            )
        }
    }
}
