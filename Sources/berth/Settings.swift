import ArgumentParser
import Foundation
import Synchronization

/// Where a setting no flag gives comes from: the process's environment, then the settings file
/// (`serve --env-file`, or `$BERTH_ENV_FILE` for every command), the same `NAME=value` lines
/// as the package's `/etc/berth/berth.env`, so one file configures the systemd unit and a
/// `berth` run by hand alike.
enum Settings {
    /// The settings file's variables; none before one is read.
    private static let fromFile = Mutex<[String: String]>([:])

    /// Reads the settings file at `path` (`serve --env-file`), else the one `$BERTH_ENV_FILE`
    /// names (read before any command runs); a missing file or a malformed line fails, naming
    /// the file and line.
    static func load(_ path: String?) throws {
        guard let path = path ?? ProcessInfo.processInfo.environment["BERTH_ENV_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) else { return }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ArgumentParser.ValidationError("cannot read the settings file \(path): \(error.localizedDescription)")
        }
        let variables = try parse(text, file: path)
        fromFile.withLock { $0 = variables }
    }

    /// The environment with the settings file's variables beneath it.
    static var environment: [String: String] {
        fromFile.withLock { $0 }.merging(ProcessInfo.processInfo.environment) { _, process in process }
    }

    /// `flag` when given, else the variable when set and not empty.
    static func value(_ flag: String?, _ variable: String) -> String? {
        flag ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `NAME=value` lines as systemd's `EnvironmentFile=` reads them: blank lines and lines
    /// starting with `#` or `;` are skipped, an `export ` prefix and one pair of quotes around
    /// the value are dropped, and nothing is expanded.
    static func parse(_ text: String, file: String) throws -> [String: String] {
        var variables: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst("export ".count)).trimmingCharacters(in: .whitespaces) }
            guard let equals = line.firstIndex(of: "=") else {
                throw ArgumentParser.ValidationError("\(file):\(index + 1): expected NAME=value, found \"\(line.prefix(40))\"")
            }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces)
            let letter = { (byte: UInt8) in byte == UInt8(ascii: "_") || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte & 0xDF) }
            guard let first = name.utf8.first, letter(first), name.utf8.allSatisfy({ letter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
                throw ArgumentParser.ValidationError("\(file):\(index + 1): \"\(name)\" is not a variable name (letters, digits and _, not starting with a digit)")
            }
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = String(value.dropFirst().dropLast())
            }
            variables[name] = value
        }
        return variables
    }
}
