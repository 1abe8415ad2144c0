import BerthCore
import Foundation
import Testing

@testable import BerthCompose

/// The loader against `docker-compose config` 1.29 on the same files: the effective values of
/// every service (``LoaderEffectiveService``) must be the same on both sides. Serialized: each case
/// starts a Python process, and the machine is shared.
@Suite("Compose loader against docker-compose 1.29", .serialized)
struct LoaderDifferentialTests {
    /// `../shared/compose-corpus/awesome-compose` beside the repository.
    static let corpusRoot = ComposePaths.clean(#filePath + "/../../../../shared/compose-corpus/awesome-compose")

    /// The corpus's project directories, each holding one compose file.
    static let corpus: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: corpusRoot)) ?? []).filter {
        ComposeFiles.discover(in: corpusRoot + "/" + $0) != nil
    }.sorted()

    @Test func theCorpusIsThere() {
        #expect(Self.corpus.count >= 39, "expected the 39 awesome-compose projects in \(Self.corpusRoot)")
    }

    @Test("every awesome-compose project", arguments: corpus)
    func corpusProject(name: String) async throws {
        let fixture = try LoaderFixture()
        let directory = fixture.directory + "/" + name
        try copyWritable(from: Self.corpusRoot + "/" + name, to: directory)
        let files = try #require(ComposeFiles.discover(in: directory))
        let environment = ["HOME": fixture.directory + "/home"]
        let project = try ComposeLoader.load(.init(files: files, projectDirectory: directory, environment: environment, workingDirectory: directory))
        // 1.29 refuses a build context that does not exist; the corpus holds compose files only.
        for service in project.document["services"]?.entries ?? [] {
            if let context = service.value.at("build.context")?.stringValue, !ComposePaths.isRemote(context) {
                try FileManager.default.createDirectory(atPath: context, withIntermediateDirectories: true)
            }
        }
        // 1.29 refuses the top-level `name:` (newer than it); its copy goes without.
        let referenceFiles = try files.map { file in
            let text = try String(contentsOfFile: file, encoding: .utf8)
            guard project.document.entry("name")?.keyLocation != nil, text.contains("\nname:") || text.hasPrefix("name:") else { return file }
            let stripped = text.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("name:") }.joined(separator: "\n")
            try stripped.write(toFile: file + ".reference.yaml", atomically: true, encoding: .utf8)
            return file + ".reference.yaml"
        }
        let output = try await LoaderReferenceCompose.config(files: referenceFiles, projectDirectory: directory, environment: environment)
        try compare(project, output)
    }

    @Test("generated interpolation, env file and override combinations", arguments: 0..<50)
    func generatedCase(seed: Int) async throws {
        let fixture = try LoaderFixture()
        let generated = LoaderCaseGenerator(seed: UInt64(seed)).generate()
        for (name, text) in generated.files { try fixture.write(name, text) }
        let environment = generated.environment.merging(["HOME": fixture.directory + "/home"]) { given, _ in given }
        let project = try ComposeLoader.load(.init(files: generated.composeFiles, projectDirectory: fixture.directory, environment: environment, workingDirectory: fixture.directory))
        let output = try await LoaderReferenceCompose.config(files: generated.composeFiles, projectDirectory: fixture.directory, environment: environment)
        try compare(project, output, context: generated.files.map { "--- \($0.0)\n\($0.1)" }.joined(separator: "\n") + "\n--- environment \(generated.environment)")
    }

    private func compare(_ project: ComposeProject, _ output: String, context: String = "") throws {
        let ours = LoaderEffectiveService.fromLoader(project.document)
        let theirs = try LoaderEffectiveService.fromReference(output)
        #expect(ours.keys.sorted() == theirs.keys.sorted(), "services differ\n\(context)")
        for (name, service) in ours.sorted(by: { $0.key < $1.key }) {
            #expect(service == theirs[name], "service \(name):\n berth:  \(service)\n 1.29:   \(theirs[name].map(\.description) ?? "missing")\n\(context)\n--- docker-compose config\n\(output)")
        }
    }

    /// A copy of the read-only corpus directory that the test (and the tool) may write into.
    private func copyWritable(from source: String, to destination: String) throws {
        try FileManager.default.copyItem(atPath: source, toPath: destination)
        let enumerator = FileManager.default.enumerator(atPath: destination)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: destination)
        while let relative = enumerator?.nextObject() as? String {
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: destination + "/" + relative)
        }
    }
}
