import BerthCore

/// Parses a YAML stream into `ManifestDocument`s with positions on every node.
///
/// Uses libyaml's event API with Berth's own iterative composer instead of Yams' recursive one, so
/// deep nesting and alias bombs fail with an error within `ManifestLimits` instead of crashing.
/// Plain scalars are typed with the YAML 1.2 core schema; quoted and block scalars are strings.
public enum YAMLDocumentParser {
    /// Parses every document of `text`; see `parse(_:file:limits:)` for bytes.
    public static func parse(_ text: String, file: String, limits: ManifestLimits = .init()) throws(ValidationError) -> [ManifestDocument] {
        try parse(Array(text.utf8), file: file, limits: limits)
    }

    /// Parses every document of a UTF-8 stream, skipping empty ones.
    ///
    /// Throws every problem found in all documents, each with its position; reading stops at the first
    /// syntax error or exceeded limit, since what follows cannot be trusted.
    public static func parse(_ bytes: [UInt8], file: String, limits: ManifestLimits = .init()) throws(ValidationError) -> [ManifestDocument] {
        guard bytes.count <= limits.maxFileBytes else {
            throw error(file, line: 1, column: 1, "the file is \(bytes.count) bytes, over the limit of \(limits.maxFileBytes) bytes (limit maxFileBytes); split it into several files")
        }
        if let offset = SourceText.firstInvalidUTF8(in: bytes) {
            let (line, column) = SourceText.position(ofByte: offset, in: bytes)
            let hex = String(bytes[offset], radix: 16, uppercase: true)
            throw error(file, line: line, column: column, "invalid UTF-8 (byte 0x\(hex)); save the file as UTF-8")
        }
        let reader = LibYAMLEventReader(bytes: bytes, file: file, maxDepth: limits.maxDepth)
        var composer = DocumentComposer(file: file, limits: limits)
        while true {
            let event: YAMLEvent
            do {
                event = try reader.next()
            } catch {
                throw ValidationError(issues: composer.issues + error.issues)
            }
            if case .streamEnd = event { break }
            try composer.consume(event)
        }
        guard composer.issues.isEmpty else { throw ValidationError(issues: composer.issues) }
        return composer.documents
    }

    private static func error(_ file: String, line: Int, column: Int, _ message: String) -> ValidationError {
        ValidationError(issues: [ValidationIssue(location: SourceLocation(file: file, line: line, column: column), message: message)])
    }
}
