import Foundation

/// Writes JSON for `--json` output: pretty, keys sorted, slashes unescaped.
func printJSON(_ value: some Encodable) throws {
    print(try jsonText(value))
}

/// The text `printJSON` prints for `value`.
func jsonText(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// JSON text (a server's answer) formatted the way `printJSON` prints values.
func formattedJSON(_ bytes: [UInt8]) throws -> String {
    let value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
    return String(decoding: data, as: UTF8.self)
}
