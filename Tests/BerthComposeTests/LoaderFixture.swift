import BerthCore
import Foundation
import Testing

@testable import BerthCompose

/// A temporary project directory for one test: files written into it, the loader run on it with a
/// controlled environment, and the directory removed afterwards.
final class LoaderFixture {
    let directory: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path + "/berth-compose-" + UUID().uuidString.prefix(8).lowercased()
        directory = base + "/app"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: ComposePaths.directory(of: directory))
    }

    /// Writes `text` to `name` (relative to the project directory), creating folders.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let path = directory + "/" + name
        try FileManager.default.createDirectory(atPath: ComposePaths.directory(of: path), withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Loads the project with `options` (files relative to the project directory), the working
    /// directory the project directory, HOME `/home/tester` unless `environment` says otherwise.
    func load(
        files: [String] = [], envFiles: [String] = [], profiles: [String] = [], projectName: String? = "app",
        environment: [String: String] = [:], projectDirectory: String? = nil
    ) throws(ComposeError) -> ComposeProject {
        try ComposeLoader.load(
            ComposeLoader.Options(
                files: files, projectDirectory: projectDirectory, envFiles: envFiles, profiles: profiles, projectName: projectName,
                environment: ["HOME": "/home/tester"].merging(environment) { _, given in given }, workingDirectory: directory))
    }

    /// The error loading throws; fails the test when loading succeeds.
    func loadError(files: [String] = [], environment: [String: String] = [:], projectName: String? = "app") -> ComposeError? {
        do {
            let project = try load(files: files, projectName: projectName, environment: environment)
            Issue.record("expected an error, loaded \(project.document)")
            return nil
        } catch {
            return error
        }
    }
}

extension InputNode {
    /// The node at a dotted path of keys and list indexes (`services.web.ports.0.target`).
    func at(_ path: String) -> InputNode? {
        var node: InputNode? = self
        for part in path.split(separator: ".") {
            if let index = Int(part), let items = node?.items {
                node = items.indices.contains(index) ? items[index] : nil
            } else {
                node = node?[String(part)]
            }
        }
        return node
    }

    /// The node written without positions, for comparing with expected text.
    var plain: String { ComposeMerge.text(self) }

    /// The strings of a list node.
    var strings: [String]? { items?.map { $0.scalarText ?? "?" } }
}
