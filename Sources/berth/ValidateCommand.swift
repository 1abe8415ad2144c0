import ArgumentParser
import BerthCore
import BerthManifests

/// `berth validate`: checks manifests and lists every problem with file, line, column and field.
struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check manifests: exit 0 when valid, 1 with every problem listed."
    )

    @OptionGroup var manifests: ManifestOptions
    @Flag(help: "Print the result as JSON.") var json = false

    /// The `--json` answer.
    struct Report: Encodable {
        var valid: Bool
        var files: [String]
        var resources: [ResourceID]
        var issues: [ValidationIssue]
    }

    func run() async throws {
        let loaded: Manifests
        do {
            loaded = try manifests.load()
        } catch {
            if json {
                try printJSON(Report(valid: false, files: [], resources: [], issues: error.issues))
            } else {
                printIssues(error)
            }
            throw ExitStatus.failure
        }
        let ids = loaded.state.resources.map(\.id)
        if json {
            try printJSON(Report(valid: true, files: loaded.files, resources: ids, issues: []))
        } else {
            let projects = Set(ids.map { $0.kind == .project ? $0.name : $0.project }).count
            let files = loaded.files.count
            print("Valid: \(ids.count) resource\(ids.count == 1 ? "" : "s") in \(files) file\(files == 1 ? "" : "s") (\(projects) project\(projects == 1 ? "" : "s")).")
        }
    }
}
