import BerthCore
import BerthManifests
import Foundation

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
