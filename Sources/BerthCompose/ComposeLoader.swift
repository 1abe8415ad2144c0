import BerthCore
import Foundation

/// Loads a compose project as `docker compose config` (v2) would: finds and reads the files and
/// the env files, interpolates, resolves `extends` and `include`, merges the files, applies
/// profiles and `env_file`, and writes every field in the canonical form (docs/compose.md).
///
/// Pure apart from reading files: the process environment and the working directory come in
/// through ``Options``, so tests control them.
public enum ComposeLoader {
    /// What `berth import compose` was asked to load.
    public struct Options: Sendable, Hashable {
        /// The `-f` files in order; empty looks for `compose.yaml` (and the other default names)
        /// and its override file in the project directory, else the current directory.
        public var files: [String]
        /// `--project-directory`; by default the first file's directory.
        public var projectDirectory: String?
        /// `--env-file`s; by default `.env` in the project directory, when there is one.
        public var envFiles: [String]
        /// `--profile`s, added to those in `COMPOSE_PROFILES`.
        public var profiles: [String]
        /// `-p`.
        public var projectName: String?
        /// The process environment.
        public var environment: [String: String]
        /// The directory relative paths given here resolve against.
        public var workingDirectory: String

        public init(
            files: [String] = [], projectDirectory: String? = nil, envFiles: [String] = [], profiles: [String] = [], projectName: String? = nil,
            environment: [String: String] = [:], workingDirectory: String = FileManager.default.currentDirectoryPath
        ) {
            self.files = files
            self.projectDirectory = projectDirectory
            self.envFiles = envFiles
            self.profiles = profiles
            self.projectName = projectName
            self.environment = environment
            self.workingDirectory = workingDirectory
        }
    }

    /// The project `options` describe, in canonical form.
    public static func load(_ options: Options) throws(ComposeError) -> ComposeProject {
        let home = options.environment["HOME"] ?? NSHomeDirectory()
        let working = ComposePaths.clean(options.workingDirectory)
        func absolute(_ path: String) -> String { ComposePaths.absolute(path, against: working, home: home) }
        let givenDirectory = options.projectDirectory.map(absolute)
        let files: [String]
        if options.files.isEmpty {
            let searched = givenDirectory ?? working
            guard let found = ComposeFiles.discover(in: searched) else {
                throw ComposeError("no compose file in \(searched): looked for \(ComposeFiles.defaultNames.joined(separator: ", ")); name one with -f", at: nil)
            }
            files = found
        } else {
            files = options.files.map(absolute)
        }
        let directory = givenDirectory ?? ComposePaths.directory(of: files[0])
        let envFiles: [(path: String, required: Bool)] = options.envFiles.isEmpty ? [(directory + "/.env", false)] : options.envFiles.map { (absolute($0), true) }
        let environment = try ProjectEnvironment.variables(envFiles: envFiles, over: options.environment, at: nil, field: "--env-file")

        let reader = ProjectReader(environment: environment, home: home)
        var document = try reader.read(files, directory: directory)
        var profiles = Set(options.profiles)
        for profile in (environment["COMPOSE_PROFILES"] ?? "").split(separator: ",") {
            profiles.insert(profile.trimmingCharacters(in: .whitespaces))
        }
        if let services = document["services"] {
            let active = ComposeProfiles.apply(to: services, active: profiles)
            document.set("services", try ServiceEnvFiles.apply(to: active, environment: environment))
        }
        let name = try ProjectName.resolve(option: options.projectName, environment: environment, document: document, directory: directory)
        return ComposeProject(name: name, directory: directory, files: reader.files, document: canonicalTopLevel(document, name: name), warnings: reader.warnings)
    }

    /// `name` first, then the sections that are not empty, then extension fields.
    private static func canonicalTopLevel(_ document: InputNode, name: String) -> InputNode {
        var entries = [InputNode.Entry(key: "name", keyLocation: document.entry("name")?.keyLocation, value: InputNode(.string(name), location: document["name"]?.location))]
        for section in ["services"] + ProjectReader.sections {
            guard let entry = document.entry(section), entry.value.entries?.isEmpty == false else { continue }
            entries.append(entry)
        }
        entries += (document.entries ?? []).filter { $0.key != "name" && $0.key != "services" && !ProjectReader.sections.contains($0.key) }
        var result = document
        result.content = .map(entries)
        return result
    }
}
