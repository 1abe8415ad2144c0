import ArgumentParser
import BerthAPI
import BerthCore
import BerthManifests
import Logging

/// `berth resources …`: desired resources kept by the API (beside the manifests), through `--server`.
struct ResourcesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resources",
        abstract: "Apply, show and delete desired resources through the API (needs --server or BERTH_SERVER).",
        subcommands: [Apply.self, Get.self, Delete.self]
    )

    /// `berth resources apply -f FILE`: one `PUT` per document.
    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply",
            abstract: "Create or update every document of a file through the API.",
            discussion: "Exit status: 0 all applied, 1 invalid input or a document the server refused (the rest are still sent)."
        )

        @OptionGroup var controller: ControllerOptions
        @Option(name: [.customShort("f"), .customLong("file")], help: "A YAML file of resource documents.") var file: String
        @Flag(help: "Print the stored resources as JSON.") var json = false

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let (views, failed) = try await ResourcesCommand.withResources(controller) { resources in
                let documents = try readDocuments(file)
                var views: [ResourceView] = []
                var failed = false
                var standardError = StandardError()
                for document in documents {
                    do {
                        let (view, created) = try await resources.apply(document)
                        views.append(view)
                        if !json { print("\(created ? "created" : "applied") \(document.id) (generation \(view.generation ?? 0))") }
                    } catch let error as APIClientError {
                        failed = true
                        print("error: \(file):\(document.location?.line ?? 0): \(document.id): \(error)", to: &standardError)
                    }
                }
                return (views, failed)
            }
            if json { try printJSON(views) }
            if failed { throw ExitStatus.failure }
        }
    }

    /// `berth resources get [--kind K] [--project P] [NAME]`
    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "get", abstract: "List desired resources (API and manifest ones), or show one.")

        @OptionGroup var controller: ControllerOptions
        @Option(help: "Only this kind: project, volume, service, job, cronjob, bucket, certificate, jobtemplate.") var kind: String?
        @Option(help: "Only this project.") var project: String?
        @Argument(help: "One resource's name (needs --kind).") var name: String?
        @Flag(help: "Print as JSON.") var json = false

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            try await ResourcesCommand.withResources(controller) { resources in
                if let name {
                    guard let kind else { throw ArgumentParser.ValidationError("showing one resource needs --kind") }
                    let view = try await resources.get(kind: kind, project: project ?? ResourceID.defaultProject, name: name)
                    if json {
                        try printJSON(view)
                    } else {
                        print(try ManifestRenderer.yaml([view.document]), terminator: "")
                    }
                    return
                }
                let views = try await resources.list(kind: kind, project: project)
                if json {
                    try printJSON(views)
                    return
                }
                guard !views.isEmpty else {
                    print("No resources.")
                    return
                }
                var rows = [["KIND", "PROJECT", "NAME", "SOURCE", "GENERATION"]]
                for view in views {
                    rows.append([view.kind.rawValue, view.project, view.name, view.file.map { "manifest \($0)" } ?? view.source, view.generation.map(String.init) ?? "-"])
                }
                print(textTable(rows))
            }
        }
    }

    /// `berth resources delete KIND NAME [--project P]`
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete",
            abstract: "Delete an API resource; the controller removes what it made for it.",
            discussion: "Exit status: 0 deleted, 1 refused (no such resource, or a manifest owns it)."
        )

        @OptionGroup var controller: ControllerOptions
        @Argument(help: "The kind: project, volume, service, cronjob, bucket, certificate, jobtemplate.") var kind: String
        @Argument(help: "The resource's name.") var name: String
        @Option(help: "Its project.") var project: String = ResourceID.defaultProject

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let view = try await ResourcesCommand.withResources(controller) { resources in
                try await resources.delete(kind: kind, project: project, name: name)
            }
            print("deleted \(view.kind) \(view.project)/\(view.name); the controller converges the removal")
        }
    }

    /// Runs `body` with the server's resources; refused when the options name no server.
    static func withResources<T>(_ controller: ControllerOptions, _ body: (any ResourceClient) async throws -> T) async throws -> T {
        try await controller.withClient { client in
            guard let resources = client.resources else {
                throw CommandFailure("berth resources works through the API: give --server (or BERTH_SERVER) and a token")
            }
            return try await body(resources)
        }
    }
}
