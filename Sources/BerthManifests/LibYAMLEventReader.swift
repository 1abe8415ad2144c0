import BerthCore
import CYaml

/// One libyaml parse event, copied out of C memory into Swift values.
enum YAMLEvent {
    /// A scalar; `isPlain` is false for quoted and block scalars, which are always strings.
    struct Scalar {
        var value: String
        var anchor: String?
        var tag: String?
        var isPlain: Bool
        var location: SourceLocation
    }

    case streamStart
    case streamEnd
    case documentStart(SourceLocation)
    case documentEnd
    case alias(anchor: String, location: SourceLocation)
    case scalar(Scalar)
    case collectionStart(isMapping: Bool, anchor: String?, tag: String?, location: SourceLocation)
    case collectionEnd
}

/// Reads libyaml events from a private copy of the input. This is the only place Berth touches
/// libyaml's pointers: the parser struct refers to itself, so it lives at a fixed address that
/// `deinit` releases together with the input copy.
final class LibYAMLEventReader {
    private let parser: UnsafeMutablePointer<yaml_parser_t>
    private let input: UnsafeMutableBufferPointer<UInt8>
    private let source: [UInt8]
    private let file: String
    private let maxDepth: Int

    init(bytes: [UInt8], file: String, maxDepth: Int) {
        self.source = bytes
        self.file = file
        self.maxDepth = maxDepth
        parser = .allocate(capacity: 1)
        input = .allocate(capacity: max(bytes.count, 1))
        _ = input.initialize(from: bytes)
        // libyaml fails here only when malloc fails, which Swift treats as fatal everywhere else too.
        precondition(yaml_parser_initialize(parser) == 1, "libyaml could not allocate its parser")
        yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        input.deallocate()
    }

    /// The next event, or the scanner/parser error at the point where libyaml stopped.
    func next() throws(ValidationError) -> YAMLEvent {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else { throw syntaxError() }
        defer { yaml_event_delete(&event) }
        let location = location(event.start_mark)
        switch event.type {
        case YAML_STREAM_START_EVENT:
            return .streamStart
        case YAML_DOCUMENT_START_EVENT:
            return .documentStart(location)
        case YAML_DOCUMENT_END_EVENT:
            return .documentEnd
        case YAML_ALIAS_EVENT:
            return .alias(anchor: string(event.data.alias.anchor) ?? "", location: location)
        case YAML_SCALAR_EVENT:
            let scalar = event.data.scalar
            return .scalar(
                YAMLEvent.Scalar(
                    value: String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self),
                    anchor: string(scalar.anchor),
                    tag: string(scalar.tag),
                    isPlain: scalar.style == YAML_PLAIN_SCALAR_STYLE,
                    location: location
                ))
        case YAML_SEQUENCE_START_EVENT:
            let start = event.data.sequence_start
            return .collectionStart(isMapping: false, anchor: string(start.anchor), tag: string(start.tag), location: location)
        case YAML_MAPPING_START_EVENT:
            let start = event.data.mapping_start
            return .collectionStart(isMapping: true, anchor: string(start.anchor), tag: string(start.tag), location: location)
        case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
            return .collectionEnd
        default: // YAML_STREAM_END_EVENT: libyaml returns no other event after a successful parse
            return .streamEnd
        }
    }

    private func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    private func location(_ mark: yaml_mark_t) -> SourceLocation {
        SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }

    private func syntaxError() -> ValidationError {
        let state = parser.pointee
        let problem = state.problem.map { String(cString: $0) } ?? "unknown problem"
        let issue: ValidationIssue
        switch state.error {
        case YAML_READER_ERROR:
            let (line, column) = SourceText.position(ofByte: state.problem_offset, in: source)
            let hex = String(state.problem_value, radix: 16, uppercase: true)
            let character = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            issue = ValidationIssue(
                location: SourceLocation(file: file, line: line, column: column),
                message: "\(problem) (found \(character)); remove the character or write it as an escape inside a double-quoted string"
            )
        case _ where problem.hasPrefix("Maximum nesting level reached"):
            // Yams' libyaml stops at about 1000 levels by itself, and its scanner reads far enough
            // ahead to get there before Berth's composer has seen `maxDepth` levels.
            issue = ValidationIssue(
                location: location(state.problem_mark),
                message: "nesting is deeper than \(maxDepth) levels (limit maxDepth); flatten the structure"
            )
        case YAML_MEMORY_ERROR:
            issue = ValidationIssue(
                location: SourceLocation(file: file, line: 1, column: 1),
                message: "out of memory while reading YAML; split the file into smaller ones"
            )
        default:
            let at = location(state.problem_mark)
            var message = "YAML syntax error: \(problem)"
            if let context = state.context {
                let contextAt = location(state.context_mark)
                message += " (\(String(cString: context)) at line \(contextAt.line), column \(contextAt.column))"
            }
            message +=
                SourceText.isTabIndented(line: at.line, column: at.column, in: source)
                ? "; YAML indentation uses spaces, not tabs: replace the tabs with spaces"
                : "; check the indentation, quoting and brackets around this position"
            issue = ValidationIssue(location: at, message: message)
        }
        return ValidationError(issues: [issue])
    }
}
