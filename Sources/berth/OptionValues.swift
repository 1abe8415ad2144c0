import ArgumentParser
import BerthCore

/// Parses a duration option (`90s`, `5m`), naming the option when it is not one.
func parseSpan(_ text: String, option: String) throws -> TimeSpan {
    do {
        return try TimeSpan(parsing: text)
    } catch {
        throw ArgumentParser.ValidationError("\(option): \(error.issues.map(\.message).joined(separator: "; "))")
    }
}

/// Parses a `-l key=value` label filter, naming the option when it is not one.
func parseLabelSelector(_ text: String) throws -> LabelSelector {
    do {
        return try LabelSelector(parsing: text)
    } catch {
        throw ArgumentParser.ValidationError("--label: \(error.issues.map(\.message).joined(separator: "; "))")
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
