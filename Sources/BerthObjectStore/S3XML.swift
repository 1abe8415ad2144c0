import Foundation
#if canImport(FoundationXML)
    import FoundationXML
#endif

/// An XML element of an S3 response: name (namespace stripped), text, children in order.
/// Responses are parsed with Foundation's `XMLParser` (libxml2 on Linux) into this small tree;
/// requests are written with ``XMLWriter``.
struct XMLElement: Sendable, Hashable {
    var name: String
    var text: String = ""
    var children: [XMLElement] = []

    /// The first child of that name.
    func child(_ name: String) -> XMLElement? {
        children.first { $0.name == name }
    }

    /// Every child of that name.
    func all(_ name: String) -> [XMLElement] {
        children.filter { $0.name == name }
    }

    /// The text of the child at that path, trimmed: `element.value("Filter", "Prefix")`.
    func value(_ path: String...) -> String? {
        var current = self
        for name in path {
            guard let next = current.child(name) else { return nil }
            current = next
        }
        return current.text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Parses a whole document; `nil` when it is not well-formed XML.
    static func parse(_ bytes: [UInt8]) -> XMLElement? {
        let delegate = TreeBuilder()
        let parser = XMLParser(data: Data(bytes))
        parser.shouldProcessNamespaces = true
        parser.shouldResolveExternalEntities = false
        parser.delegate = delegate
        guard parser.parse() else { return nil }
        return delegate.root
    }
}

/// Builds the tree from the parser's callbacks (used within one `parse` call only).
private final class TreeBuilder: NSObject, XMLParserDelegate {
    var stack: [XMLElement] = []
    var root: XMLElement?

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        stack.append(XMLElement(name: elementName))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard !stack.isEmpty else { return }
        stack[stack.count - 1].text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        guard let element = stack.popLast() else { return }
        if stack.isEmpty {
            root = element
        } else {
            stack[stack.count - 1].children.append(element)
        }
    }
}

/// Writes the small request documents S3 takes, escaping text.
struct XMLWriter {
    private(set) var text = #"<?xml version="1.0" encoding="UTF-8"?>"#

    /// `<name>` + children + `</name>`; the root gets S3's namespace.
    mutating func element(_ name: String, root: Bool = false, _ content: (inout XMLWriter) -> Void) {
        text += root ? #"<\#(name) xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"# : "<\(name)>"
        content(&self)
        text += "</\(name)>"
    }

    /// `<name>escaped value</name>`
    mutating func element(_ name: String, _ value: String) {
        text += "<\(name)>\(Self.escape(value))</\(name)>"
    }

    var bytes: [UInt8] { Array(text.utf8) }

    static func escape(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for character in value {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}
