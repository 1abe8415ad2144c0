import ArgumentParser
import BerthCore
import BerthManifests
import Foundation

/// `-f PATH` (repeatable), else `BERTH_MANIFESTS` (colon-separated), else `manifests/`.
struct ManifestOptions: ParsableArguments {
    @Option(name: [.customShort("f"), .customLong("file")], help: "A manifest file or folder (repeatable). Default: $BERTH_MANIFESTS, else manifests/.")
    var paths: [String] = []

    var resolvedPaths: [String] {
        if !paths.isEmpty { return paths }
        if let fromEnvironment = ProcessInfo.processInfo.environment["BERTH_MANIFESTS"], !fromEnvironment.isEmpty {
            return fromEnvironment.split(separator: ":").map(String.init)
        }
        return ["manifests"]
    }

    func load() throws(BerthCore.ValidationError) -> Manifests {
        try Manifests.load(paths: resolvedPaths)
    }
}

/// Exit codes scripts rely on.
enum ExitStatus {
    /// The input was invalid or the command failed.
    static let failure = ExitCode(1)
}

/// Parses a duration option (`90s`, `5m`), naming the option when it is not one.
func parseSpan(_ text: String, option: String) throws -> TimeSpan {
    do {
        return try TimeSpan(parsing: text)
    } catch {
        throw ArgumentParser.ValidationError("\(option): \(error.issues.map(\.message).joined(separator: "; "))")
    }
}

/// Parses a size option (`16Ki`, `1Mi`) into bytes, naming the option when it is not one.
func parseSize(_ text: String, option: String) throws -> Int {
    do {
        return Int(try ByteSize(parsing: text).bytes)
    } catch {
        throw ArgumentParser.ValidationError("\(option): \(error.issues.map(\.message).joined(separator: "; "))")
    }
}

/// Writes JSON for `--json` output: pretty, keys sorted, slashes unescaped.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// The documents of one YAML file (`jobs submit -f`, `resources apply -f`); every problem is
/// printed with file and line and the command fails.
func readDocuments(_ file: String) throws -> [Resource] {
    do {
        return try Manifests.resources(yaml: try String(contentsOfFile: file, encoding: .utf8), file: file)
    } catch let error as BerthCore.ValidationError {
        printIssues(error)
        throw ExitStatus.failure
    } catch {
        throw CommandFailure("cannot read \(file): \(error.localizedDescription)")
    }
}

/// Prints JSON text (a server's answer) the way `printJSON` prints values.
func printJSONText(_ bytes: [UInt8]) throws {
    let value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
    let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
    print(String(decoding: data, as: UTF8.self))
}

/// Prints every problem, one per line, to standard error, then a count.
func printIssues(_ error: BerthCore.ValidationError) {
    var standardError = StandardError()
    for issue in error.issues { print("error: \(issue)", to: &standardError) }
    let count = error.issues.count
    print("\(count) problem\(count == 1 ? "" : "s") found.", to: &standardError)
}

/// Standard error as a `TextOutputStream`.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}

/// Rows as aligned columns, two spaces apart, without trailing blanks: the tables of `status` and `jobs list`.
func textTable(_ rows: [[String]]) -> String {
    let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
    return rows.map { row in
        zip(row, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
    }.joined(separator: "\n")
}
