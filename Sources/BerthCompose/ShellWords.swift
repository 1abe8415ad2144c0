/// Splits a command written as one string into words the way a POSIX shell would, as compose does
/// for `command: npm start`: blanks separate words, single quotes keep everything, double quotes
/// keep all but `\"`, `\\`, `\$` and `` \` `` escapes, a backslash outside quotes escapes the next
/// character. Nothing is expanded.
enum ShellWords {
    /// The words of `text`; an unclosed quote is an error message.
    static func split(_ text: String) throws(ShellWordsError) -> [String] {
        var words: [String] = []
        var word = ""
        var inWord = false
        var quote: Character?
        var iterator = text.makeIterator()
        while let character = iterator.next() {
            switch (quote, character) {
            case ("'", "'"), ("\"", "\""):
                quote = nil
            case ("'", _):
                word.append(character)
            case ("\"", "\\"):
                guard let next = iterator.next() else { throw ShellWordsError(message: "ends with a backslash") }
                if !["\"", "\\", "$", "`"].contains(next) { word.append("\\") }
                word.append(next)
            case ("\"", _):
                word.append(character)
            case (_, " "), (_, "\t"), (_, "\n"):
                if inWord { words.append(word) }
                word = ""
                inWord = false
            case (_, "'"), (_, "\""):
                quote = character
                inWord = true
            case (_, "\\"):
                guard let next = iterator.next() else { throw ShellWordsError(message: "ends with a backslash") }
                if next != "\n" { word.append(next) }
                inWord = true
            default:
                word.append(character)
                inWord = true
            }
        }
        if let quote { throw ShellWordsError(message: "has an unclosed \(quote) quote") }
        if inWord { words.append(word) }
        return words
    }
}

/// Why a command string could not be split into words.
struct ShellWordsError: Error {
    var message: String
}
