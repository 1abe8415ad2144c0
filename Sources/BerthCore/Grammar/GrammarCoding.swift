/// Numbers a grammar type accepts when decoding, besides its text form.
enum AcceptedNumbers {
    case none
    case integers
    case integersAndDecimals
}

extension Decoder {
    /// Decodes a grammar value from its text, or from a number turned into text when `numbers` allows it.
    /// A parse failure becomes `DecodingError.dataCorrupted` carrying the validation message.
    func decodeGrammarValue<Value>(
        accepting numbers: AcceptedNumbers = .none,
        _ parse: (String) throws(ValidationError) -> Value
    ) throws -> Value {
        let container = try singleValueContainer()
        let text: String
        if numbers != .none, let integer = try? container.decode(Int64.self) {
            text = String(integer)
        } else if numbers == .integersAndDecimals, let decimal = try? container.decode(Double.self) {
            text = String(decimal)
        } else {
            text = try container.decode(String.self)
        }
        do throws(ValidationError) {
            return try parse(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }
}

extension Encoder {
    /// Encodes a grammar value as its canonical text.
    func encodeGrammarValue(_ value: some CustomStringConvertible) throws {
        var container = singleValueContainer()
        try container.encode(value.description)
    }
}
