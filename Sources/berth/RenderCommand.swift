import ArgumentParser
import BerthCore
import BerthManifests

/// `berth render`: the normalized desired state, defaults filled in, as Berth will converge to it.
struct RenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Print the normalized desired state (defaults filled in) as YAML or JSON."
    )

    /// Output formats.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case yaml, json
    }

    @OptionGroup var manifests: ManifestOptions
    @Option(name: [.short, .long], help: "yaml or json.") var output: Format = .yaml
    @Flag(help: "Same as --output json.") var json = false

    func run() async throws {
        let loaded: Manifests
        do {
            loaded = try manifests.load()
        } catch {
            printIssues(error)
            throw ExitStatus.failure
        }
        if json || output == .json {
            try printJSON(loaded.state.resources)
        } else {
            print(try ManifestRenderer.yaml(loaded.state.resources), terminator: "")
        }
    }
}
