/// PostgreSQL's text form of an array, each element quoted, `nil` as NULL; the element type is
/// the parameter's cast (`$1::text[]`, `$2::bigint[]`). Built byte by byte: it runs for every
/// value a submit writes, and Foundation's `replacingOccurrences` showed in its profile.
func postgresArray(_ elements: [String?]) -> String {
    let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
    var bytes: [UInt8] = [UInt8(ascii: "{")]
    bytes.reserveCapacity(elements.reduce(2) { $0 + ($1?.utf8.count ?? 4) + 3 })
    for (index, element) in elements.enumerated() {
        if index > 0 { bytes.append(UInt8(ascii: ",")) }
        guard let element else {
            bytes.append(contentsOf: "NULL".utf8)
            continue
        }
        bytes.append(quote)
        for byte in element.utf8 {
            if byte == quote || byte == backslash { bytes.append(backslash) }
            bytes.append(byte)
        }
        bytes.append(quote)
    }
    bytes.append(UInt8(ascii: "}"))
    return String(decoding: bytes, as: UTF8.self)
}

/// Rows of values as one array parameter per column, for `unnest($1::text[], $2::bigint[], …)`:
/// a statement that writes any number of rows, prepared once.
func postgresArrays(_ rows: [[SQLValue]]) -> [SQLValue] {
    guard let width = rows.first?.count else { return [] }
    return (0..<width).map { column in .text(postgresArray(rows.map { $0[column].postgresText })) }
}
