import Foundation

/// The ASCII armor of an age-encrypted file (`age --encrypt --armor`): the header line, the
/// base64 body in lines of 64 columns (the last shorter or as long), the footer line. Checked
/// when a manifest is read, so a block broken by copying fails with its field rather than at
/// container creation; whether it decrypts is only known then.
public enum AgeArmor {
    public static let header = "-----BEGIN AGE ENCRYPTED FILE-----"
    public static let footer = "-----END AGE ENCRYPTED FILE-----"
    /// Every age file starts with this line, so the decoded body must too.
    static let magic = Array("age-encryption.org/v1\n".utf8)
    static let columns = 64

    /// Whether `text` is meant as an armored block: it starts with the header, whitespace aside.
    public static func isArmored(_ text: String) -> Bool {
        text.drop(while: \.isWhitespace).hasPrefix(header)
    }

    /// The block with surrounding whitespace and trailing spaces of its lines removed, ending in
    /// one newline: what is stored, hashed and piped to `age`. Errors name the line of the block.
    public static func validated(_ text: String) throws(ValidationError) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.reversed().drop(while: \.isWhitespace).reversed() }.map { String($0) }
            .drop(while: \.isEmpty).reversed().drop(while: \.isEmpty).reversed()
        let block = Array(lines)
        guard block.first?.drop(while: \.isWhitespace) == header[...] else {
            throw ValidationError("an age-encrypted value starts with the line \(header)")
        }
        guard block.count >= 3, block.last == footer else {
            throw ValidationError("an age-encrypted value ends with the line \(footer) (copy the whole block age --armor printed)")
        }
        let body = block.dropFirst().dropLast()
        for (index, line) in body.enumerated() {
            let number = index + 2
            guard !line.isEmpty else { throw ValidationError("line \(number) of the age-encrypted block is empty") }
            guard line.count <= columns else {
                throw ValidationError("line \(number) of the age-encrypted block has \(line.count) columns, at most \(columns)")
            }
            guard index == body.count - 1 || line.count == columns else {
                throw ValidationError("line \(number) of the age-encrypted block has \(line.count) columns; every line but the last has \(columns)")
            }
        }
        guard let decoded = Data(base64Encoded: body.joined()) else {
            throw ValidationError("the age-encrypted block is not valid base64")
        }
        guard decoded.starts(with: magic) else {
            throw ValidationError("the age-encrypted block is not an age file (it does not start with age-encryption.org/v1)")
        }
        return ([header] + body + [footer]).joined(separator: "\n") + "\n"
    }
}
