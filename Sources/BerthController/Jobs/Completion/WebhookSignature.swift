import Crypto
import Foundation

/// `X-Berth-Signature`: `sha256=` and the hex HMAC-SHA256 of the request body, keyed with the
/// secret file's content without surrounding whitespace.
public enum WebhookSignature {
    public static func header(body: [UInt8], secret: [UInt8]) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: secret))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    /// The key in a secret file's bytes: surrounding whitespace (a trailing newline) dropped.
    public static func key(fromFile contents: Data) -> [UInt8] {
        Array(String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).utf8)
    }
}
