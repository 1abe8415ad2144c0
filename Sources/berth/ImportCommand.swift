import ArgumentParser
import BerthCompose
import BerthCore
import BerthDocker
import BerthStore
import Foundation

/// `berth import`: other tools' definitions as Berth manifests.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bring another tool's definitions over as Berth manifests.",
        subcommands: [Compose.self]
    )

    /// `berth import compose`: a compose project read as `docker compose config` would, written
    /// as Berth manifests (docs/compose.md).
    struct Compose: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compose",
            abstract: "Translate a compose project into Berth manifests: one file per service, plus the project's volumes, networks and secrets.",
            discussion: """
                Every compose field is translated or named in a warning (file:line:column, field, why) on standard error.
                With --adopt (against the engine where the compose project runs), its containers become the current replicas of the imported services and its volumes and networks are used as they are: nothing is recreated (docs/compose.md, "Adoption").
                Exit status: 0 translated, 2 translated with warnings, 1 an error (or, with --strict, any warning; nothing is written then).
                """
        )

        @Option(name: [.customShort("f"), .customLong("file")], help: "A compose file; repeat to merge several in order (default: compose.yaml or docker-compose.yml and its override file).")
        var files: [String] = []
        @Option(help: "The project directory relative paths resolve against (default: the first file's directory).") var projectDirectory: String?
        @Option(help: "An env file for interpolation; repeatable (default: .env in the project directory).") var envFile: [String] = []
        @Option(help: "Include the services of this profile; repeatable.") var profile: [String] = []
        @Option(name: [.customShort("p"), .customLong("project-name")], help: "The project name (default: COMPOSE_PROJECT_NAME, the top-level name, or the directory's name).")
        var projectName: String?
        @Option(name: [.customShort("o"), .customLong("output")], help: "A folder to write the manifests into, or - for standard output.") var output = "-"
        @Flag(help: "Replace files of the same names in the output folder.") var force = false
        @Flag(help: "Exit 1 and write nothing when anything was not translated as written.") var strict = false
        @Flag(help: "Print the manifests and warnings as JSON instead.") var json = false
        @Flag(help: "Take the running compose project over in place: record its containers as the services' replicas in the store, and use its volumes and networks as they are (needs -o DIR).")
        var adopt = false
        @OptionGroup var controller: ControllerOptions

        /// The `--json` answer.
        struct Report: Encodable {
            var project: String
            var files: [String: String]
            var warnings: [Warning]

            struct Warning: Encodable {
                var location: String?
                var field: String
                var message: String
            }
        }

        /// Exit status 2: translated, with warnings.
        static let translatedWithWarnings = ExitCode(2)

        func run() async throws {
            let options = ComposeLoader.Options(
                files: files, projectDirectory: projectDirectory, envFiles: envFile, profiles: profile, projectName: projectName,
                environment: ProcessInfo.processInfo.environment
            )
            let project: ComposeProject
            do {
                project = try ComposeLoader.load(options)
            } catch {
                printIssues(ValidationError(issues: error.issues))
                throw ExitStatus.failure
            }
            if adopt, output == "-" || json { throw CommandFailure("--adopt writes the manifests into a folder: give -o DIR") }
            let stack = adopt ? try await findStack(project.name) : nil
            let translation = ComposeTranslator.translate(
                project,
                options: ComposeTranslator.Options(
                    sourceRoot: FileManager.default.currentDirectoryPath,
                    existingVolumes: Dictionary(stack?.volumes.map { ($0.composeName, $0.name) } ?? []) { first, _ in first },
                    existingNetworks: Dictionary(stack?.networks.map { ($0.composeName, $0.name) } ?? []) { first, _ in first }
                ))
            var standardError = StandardError()
            for warning in translation.warnings { print("warning: \(warning)", to: &standardError) }
            if strict, !translation.warnings.isEmpty {
                let count = translation.warnings.count
                print("error: \(count) warning\(count == 1 ? "" : "s") and --strict: nothing written", to: &standardError)
                throw ExitStatus.failure
            }
            if json {
                let warnings = translation.warnings.map { Report.Warning(location: $0.location?.description, field: $0.field, message: $0.message) }
                try printJSON(Report(project: project.name, files: translation.files, warnings: warnings))
            } else if output == "-" {
                print(Self.stream(translation.files), terminator: "")
            } else {
                try write(translation.files, to: output)
                let count = translation.files.count
                print("wrote \(count) file\(count == 1 ? "" : "s") of project \(project.name) to \(output)", to: &standardError)
            }
            if let stack { try await record(stack, translation, project: project.name) }
            if !translation.warnings.isEmpty { throw Self.translatedWithWarnings }
        }

        /// The compose project's containers, volumes and networks on the engine; none is an error.
        private func findStack(_ name: String) async throws -> ComposeStack {
            let runtime = try controller.openRuntime()
            let stack: ComposeStack
            do {
                stack = try await ComposeStack.find(project: name, on: runtime.client)
            } catch {
                throw CommandFailure(error.message)
            }
            guard !stack.containers.isEmpty else {
                throw CommandFailure(
                    "no container of compose project \(name) on the engine at \(runtime.client.endpoint): nothing to adopt (start it with docker compose up, or import without --adopt)")
            }
            return stack
        }

        /// Records the stack's containers as the replicas of the translated services; a container
        /// of a service not translated (a companion Berth replaces) is named and left alone.
        private func record(_ stack: ComposeStack, _ translation: ComposeTranslation, project: String) async throws {
            var standardError = StandardError()
            var adoptions: [Adoption] = []
            for container in stack.containers {
                guard let service = translation.serviceNames[container.service] else {
                    print("warning: container \(container.name) of compose service \(container.service) is not adopted: the service is not translated", to: &standardError)
                    continue
                }
                adoptions.append(container.adoption(as: ResourceID(kind: .service, project: project, name: service), at: Date()))
            }
            try await controller.withStore { store in try await store.recordAdoptions(adoptions) }
            for adoption in adoptions {
                print("adopted \(adoption.containerName) as replica \(adoption.replica) of Service \(project)/\(adoption.service.name)", to: &standardError)
            }
            let existing = stack.volumes.map { "volume \($0.name)" } + stack.networks.map { "network \($0.name)" }
            if !existing.isEmpty { print("used as they are: \(existing.joined(separator: ", "))", to: &standardError) }
            print("`berth plan -f \(output)` shows what would change; nothing is recreated that matches", to: &standardError)
        }

        /// Every file as one YAML stream, the project's file first, each after a comment naming it.
        static func stream(_ files: [String: String]) -> String {
            let names = files.keys.sorted { ($0 == ComposeTranslator.projectFileName ? 0 : 1, $0) < ($1 == ComposeTranslator.projectFileName ? 0 : 1, $1) }
            return names.map { "---\n# \($0)\n" + (files[$0] ?? "") }.joined()
        }

        /// Writes `text` to `path` as a new file, replacing what was there. Not synced to disk: the
        /// manifests are made again by running the import again, and syncing each file (as
        /// Foundation's writes do) was half the time of a 200-service import. A file replaced is
        /// removed first, since truncating one makes ext4 flush it on close.
        private static func writeFile(_ path: String, _ text: String) throws {
            guard unlink(path) == 0 || errno == ENOENT else { throw CommandFailure("\(path): cannot replace: \(String(cString: strerror(errno)))") }
            let file = fopen(path, "w")
            let written = file.map { fputs(text, $0) >= 0 } ?? false
            let closed = file.map { fclose($0) == 0 } ?? false
            guard written, closed else { throw CommandFailure("\(path): cannot write: \(String(cString: strerror(errno)))") }
        }

        /// Writes the files into `folder` (made when missing); refuses, before writing any, to
        /// replace a file that is there unless `--force`.
        private func write(_ files: [String: String], to folder: String) throws {
            let manager = FileManager.default
            try manager.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let paths = files.keys.sorted().map { (name: $0, path: URL(fileURLWithPath: folder).appendingPathComponent($0).path) }
            let existing = paths.filter { manager.fileExists(atPath: $0.path) }.map(\.path)
            if !force, !existing.isEmpty {
                throw CommandFailure("\(existing.joined(separator: ", ")) exist\(existing.count == 1 ? "s" : ""); nothing written (--force replaces them)")
            }
            for (name, path) in paths {
                try Self.writeFile(path, files[name] ?? "")
            }
        }
    }
}
