import BerthCore
import Foundation

/// Standard error as a `TextOutputStream`.
struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}

/// Prints every problem, one per line, to standard error, then a count.
func printIssues(_ error: BerthCore.ValidationError) {
    var standardError = StandardError()
    for issue in error.issues { print("error: \(issue)", to: &standardError) }
    let count = error.issues.count
    print("\(count) problem\(count == 1 ? "" : "s") found.", to: &standardError)
}
