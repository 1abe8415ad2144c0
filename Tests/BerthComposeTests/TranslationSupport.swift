import BerthCompose
import BerthCore
import BerthManifests
import Foundation
import Testing

/// Canonical compose YAML in, Berth manifests out, read back the way `berth validate` reads them.
enum TranslationFixture {
    static let directory = "/srv/shop"
    static let file = "/srv/shop/compose.yaml"

    /// A project whose document is `yaml`, already canonical, as the loader would hand it over.
    static func project(_ yaml: String, name: String = "shop") throws -> ComposeProject {
        let documents = try YAMLDocumentParser.parse(yaml, file: file)
        let root = try #require(documents.first).root
        return ComposeProject(name: name, directory: directory, files: [file], document: root)
    }

    static func translate(_ yaml: String, name: String = "shop") throws -> ComposeTranslation {
        ComposeTranslator.translate(try project(yaml, name: name))
    }

    /// Writes every file into a fresh folder and reads the folder with `Manifests.load`, the
    /// reader `berth validate` uses (every document, then the checks across resources).
    static func readBack(_ translation: ComposeTranslation) throws -> DesiredState {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-compose-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, text) in translation.files {
            try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        do throws(ValidationError) {
            return try Manifests.load(paths: [folder.path]).state
        } catch {
            Issue.record("the translation does not read back: \(error.issues.map(\.description).joined(separator: "\n"))\n\(translation.files)")
            throw error
        }
    }

    /// Translates `yaml` and reads the result back.
    static func state(_ yaml: String, name: String = "shop") throws -> (DesiredState, ComposeTranslation) {
        let translation = try translate(yaml, name: name)
        return (try readBack(translation), translation)
    }
}

extension DesiredState {
    func service(_ name: String, project: String = "shop") throws -> ServiceSpec {
        let resource = try #require(resources.first { $0.id == ResourceID(kind: .service, project: project, name: name) })
        guard case .service(let spec) = resource.spec else { throw TranslationTestError.wrongKind }
        return spec
    }

    func cronJob(_ name: String, project: String = "shop") throws -> CronJobSpec {
        let resource = try #require(resources.first { $0.id == ResourceID(kind: .cronJob, project: project, name: name) })
        guard case .cronJob(let spec) = resource.spec else { throw TranslationTestError.wrongKind }
        return spec
    }

    func ids(_ kind: ResourceKind) -> [String] {
        resources.filter { $0.kind == kind }.map(\.metadata.name).sorted()
    }
}

enum TranslationTestError: Error {
    case wrongKind
}

extension ComposeTranslation {
    /// The warnings about `field` (`services.web.build`).
    func warnings(about field: String) -> [ComposeWarning] {
        warnings.filter { $0.field == field }
    }
}
