import Crypto
import Foundation

/// Making and hashing tokens. A token is `berth_` and 32 random bytes in base64url (256 bits), so a
/// plain SHA-256 is enough to store it: there is nothing to brute-force, unlike a password.
package enum TokenSecret {
    static let prefix = "berth_"

    /// A new secret: `berth_` and 32 random bytes in base64url.
    package static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let base64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return prefix + base64
    }

    /// Lower-case hex SHA-256 of the token's UTF-8 bytes. Lookups go by this hash, so the secret
    /// itself is never compared and a timing difference can reveal at most a hash prefix.
    static func hash(_ token: String) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(2 * SHA256.byteCount)
        for byte in SHA256.hash(data: Data(token.utf8)) {
            text.append(hexDigits[Int(byte >> 4)])
            text.append(hexDigits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
