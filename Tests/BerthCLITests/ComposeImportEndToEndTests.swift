import Foundation
import Testing

/// `berth import compose` as users run it: on the 39 real compose projects of
/// ../shared/compose-corpus/awesome-compose (CC0), then `berth validate` on what it wrote.
@Suite("Compose import end to end")
struct ComposeImportEndToEndTests {
    static let corpus = BerthProcess.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/compose-corpus/awesome-compose")

    /// The corpus's project folders (each holds a compose file).
    static func projects() throws -> [URL] {
        let names = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted()
        return names.map { corpus.appendingPathComponent($0) }.filter { folder in
            ["compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"].contains { FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path) }
        }
    }

    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-import-\(UUID().uuidString.prefix(8).lowercased())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func everyCorpusProjectImportsWithWarningsNamingFieldsAndTheOutputValidates() async throws {
        let projects = try Self.projects()
        try #require(projects.count == 39, "the corpus has its 39 projects: \(projects.map(\.lastPathComponent))")
        let output = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: output) }
        var warned = 0
        for project in projects {
            let name = project.lastPathComponent
            let folder = output.appendingPathComponent(name)
            // when: imported from the project folder's default compose file, as `docker compose` finds it
            let imported = try await BerthProcess.run(["import", "compose", "--project-directory", project.path, "-o", folder.path])

            // then: translated (0) or translated with warnings (2), each warning a file:line:column and a field
            #expect([0, 2].contains(imported.status), "\(name): exit \(imported.status): \(imported.stderr)")
            let warnings = imported.stderr.split(separator: "\n").filter { $0.hasPrefix("warning: ") }
            #expect((imported.status == 2) == !warnings.isEmpty, "\(name): exit \(imported.status) with \(warnings.count) warnings")
            for warning in warnings {
                #expect(warning.wholeMatch(of: /warning: [^:]+:\d+:\d+: [a-z_\-]+(\.[^ :]+)*: .+/) != nil, "\(name): \(warning)")
            }
            warned += warnings.count
            let validated = try await BerthProcess.run(["validate", "-f", folder.path])
            #expect(validated.status == 0, "\(name): \(validated.stdout)\(validated.stderr)")
        }
        #expect(warned > 0, "the corpus has fields Berth does not translate as written (build:, say)")
    }

    @Test func aProjectGoesToStandardOutputAsOneStreamThatValidatesAndStrictRefusesWarnings() async throws {
        // given: a compose project with interpolation, an env file, a build and a named volume
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try """
        services:
          web:
            image: "nginx:${NGINX_TAG:-1.27}"
            ports: ["127.0.0.1:${PORT}:80"]
            depends_on: [app]
          app:
            build: ./app
            environment:
              DATABASE_URL: postgres://db/${DB_NAME}
            volumes: ["data:/var/lib/app"]
        volumes:
          data:
        """.write(to: folder.appendingPathComponent("compose.yaml"), atomically: true, encoding: .utf8)
        try "PORT=8080\nDB_NAME=shop\n".write(to: folder.appendingPathComponent(".env"), atomically: true, encoding: .utf8)

        // when
        let imported = try await BerthProcess.run(["import", "compose", "--project-directory", folder.path, "-p", "shop"])
        let strict = try await BerthProcess.run(["import", "compose", "--project-directory", folder.path, "-p", "shop", "--strict", "-o", folder.appendingPathComponent("out").path])

        // then: the stream holds both services, interpolated, and validates; the build is a warning
        #expect(imported.status == 2, "\(imported.stderr)")
        #expect(imported.stdout.contains("127.0.0.1:8080:80") && imported.stdout.contains("postgres://db/shop"), "\(imported.stdout)")
        #expect(imported.stderr.contains("services.app.build"), "\(imported.stderr)")
        let stream = folder.appendingPathComponent("stream.yaml")
        try imported.stdout.write(to: stream, atomically: true, encoding: .utf8)
        let validated = try await BerthProcess.run(["validate", "-f", stream.path])
        #expect(validated.status == 0, "\(validated.stdout)\(validated.stderr)")
        #expect(strict.status == 1 && strict.stderr.contains("--strict"), "\(strict.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("out").path), "--strict wrote nothing")
    }

    @Test func aMissingRequiredVariableIsAnErrorNamingFileLineAndFieldAndNothingIsWritten() async throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try "services:\n  web:\n    image: \"nginx:${TAG:?set TAG to the release}\"\n".write(
            to: folder.appendingPathComponent("compose.yaml"), atomically: true, encoding: .utf8)
        let output = folder.appendingPathComponent("out")

        let imported = try await BerthProcess.run(["import", "compose", "-f", folder.appendingPathComponent("compose.yaml").path, "-o", output.path])

        #expect(imported.status == 1)
        #expect(imported.stderr.contains("compose.yaml:3:") && imported.stderr.contains("services.web.image") && imported.stderr.contains("set TAG to the release"), "\(imported.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output.path))
    }

    @Test func existingFilesAreReplacedOnlyWithForce() async throws {
        let folder = try Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try "services:\n  web:\n    image: nginx:1.27\n".write(to: folder.appendingPathComponent("compose.yaml"), atomically: true, encoding: .utf8)
        let output = folder.appendingPathComponent("out")
        let arguments = ["import", "compose", "--project-directory", folder.path, "-p", "shop", "-o", output.path]

        let first = try await BerthProcess.run(arguments)
        let again = try await BerthProcess.run(arguments)
        let forced = try await BerthProcess.run(arguments + ["--force"])

        #expect(first.status == 0, "\(first.stderr)")
        #expect(again.status == 1 && again.stderr.contains("--force"), "\(again.stderr)")
        #expect(forced.status == 0, "\(forced.stderr)")
    }
}

/// `berth import compose --adopt` against a stack docker-compose 1.29 started on the engine inside
/// the test run's network namespace (compose's project network is a bridge, allowed only there).
@Suite("Compose adoption through the CLI")
struct ComposeAdoptionCLITests {
    /// Fails past `seconds` unless `condition` comes to hold.
    static func eventually(_ seconds: Double, _ what: String, _ condition: () async throws -> Bool) async throws {
        guard try await poll(seconds, condition) else { throw BerthProcess.SetupError("not within \(seconds) s: \(what)") }
    }

    @Test func anAdoptedStackPlansNothingHealsInPlaceAndAnEditReplacesOnlyItsService() async throws {
        let netns = try NetnsEngine()
        let folder = try ComposeImportEndToEndTests.temporaryFolder()
        let project = "adoptcli" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(8)
        let output = folder.appendingPathComponent("manifests").path
        let engine = ["--docker-host", netns.dockerHost, "--state-dir", folder.appendingPathComponent("state").path]
        let environment = ["DOCKER_HOST": netns.dockerHost]
        func compose(_ arguments: String...) async throws -> CommandResult {
            try await BerthProcess.runCommand(["/usr/bin/docker-compose", "-p", project, "--project-directory", folder.path] + arguments, environment: environment, timeout: 240)
        }
        func ids() async throws -> [String: String] {
            let lines = try await netns.docker("ps", "-a", "--filter", "label=com.docker.compose.project=\(project)", "--format", "{{.Names}} {{.ID}}")
            return Dictionary(
                lines.split(separator: "\n").map { line in
                    let parts = line.split(separator: " "); return (String(parts[0]), String(parts[1]))
                }
            ) { first, _ in first }
        }
        defer {
            Task {
                let berthOwned = (try? await netns.docker("ps", "-aq", "--filter", "label=berth.project=\(project)")) ?? ""
                for id in berthOwned.split(separator: "\n") { _ = try? await netns.docker("rm", "-f", String(id)) }
                _ = try? await compose("down", "-v", "--timeout", "1")
                try? FileManager.default.removeItem(at: folder)
            }
        }
        // given: a running compose stack, a database with a health check and data in its volume,
        // and a web front that waited for it
        try """
        version: "2.4"
        services:
          db:
            image: \(netns.image)
            init: true
            command: ["sh", "-c", "touch /tmp/healthy && exec sleep 100000"]
            environment: {ROLE: db}
            volumes: ["data:/data"]
            healthcheck: {test: ["CMD", "test", "-f", "/tmp/healthy"], interval: 1s, timeout: 1s, retries: 3}
          web:
            image: \(netns.image)
            init: true
            command: ["sleep", "100000"]
            environment: {ROLE: web}
            depends_on: {db: {condition: service_healthy}}
        volumes:
          data: {}

        """.write(to: folder.appendingPathComponent("docker-compose.yml"), atomically: true, encoding: .utf8)
        let up = try await compose("up", "-d")
        try #require(up.status == 0, "\(up.stderr)")
        let before = try await ids()
        try #require(before.count == 2, "\(before)")
        let db = try #require(before.keys.first { $0.contains("_db_") })
        let web = try #require(before.keys.first { $0.contains("_web_") })
        _ = try await netns.docker("exec", db, "sh", "-c", "echo kept > /data/file")

        // when: imported and adopted
        let imported = try await BerthProcess.run(["import", "compose", "--project-directory", folder.path, "-p", project, "-o", output, "--adopt"] + engine)

        // then: both containers adopted, and the plan changes nothing
        #expect([0, 2].contains(imported.status), "\(imported.stderr)")
        #expect(imported.stderr.contains("adopted \(db) as replica 0 of Service \(project)/db"), "\(imported.stderr)")
        let plan = try await BerthProcess.run(["plan", "-f", output] + engine)
        #expect(plan.status == 0 && plan.stdout.contains("No changes"), "\(plan.stdout)\(plan.stderr)")
        #expect(try await ids() == before, "nothing was recreated")

        // when: `berth serve` runs, and the database is killed
        let serveLog = folder.appendingPathComponent("serve.log").path
        let serve = try ChildProcess(
            [try BerthProcess.executable().path, "serve", "-f", output, "--listen", "127.0.0.1:0", "--resync", "2s", "--restart-backoff", "1s", "--log-level", "debug"] + engine,
            environment: BerthProcess.childEnvironment([:]), directory: folder.path, stdout: serveLog, stderr: serveLog)
        do {
            try await Self.eventually(60, "serve converged the adopted stack") {
                (try? String(contentsOfFile: serveLog, encoding: .utf8))?.contains("pass done") == true
            }
            _ = try await netns.docker("kill", db)

            // then: serve starts it again in place, with its data
            try await Self.eventually(60, "serve starts the killed database again") {
                (try? await netns.docker("inspect", "-f", "{{.State.Running}} {{.Id}}", db))?.hasPrefix("true \(before[db] ?? "?")") == true
            }
        } catch {
            await serve.stop()
            Issue.record("serve's log:\n\((try? String(contentsOfFile: serveLog, encoding: .utf8)) ?? "")")
            throw error
        }
        await serve.stop()
        #expect(try await netns.docker("exec", db, "cat", "/data/file") == "kept")
        try await Self.eventually(60, "the restarted database is healthy again (web waits for it)") {
            (try? await netns.docker("inspect", "-f", "{{.State.Health.Status}}", db)) == "healthy"
        }

        // when: web's environment is edited
        let webFile = URL(fileURLWithPath: output).appendingPathComponent("web.yaml")
        let text = try String(contentsOf: webFile, encoding: .utf8)
        try #require(text.contains("ROLE: web"), "\(text)")
        try text.replacingOccurrences(of: "ROLE: web", with: "ROLE: front").write(to: webFile, atomically: true, encoding: .utf8)
        let changed = try await BerthProcess.run(["apply", "-f", output] + engine)

        // then: only web is replaced, by a Berth container; the database is the adopted one still
        #expect(changed.status == 0, "\(changed.stdout)\(changed.stderr)")
        #expect(changed.stdout.contains("env.ROLE"), "\(changed.stdout)")
        let after = try await ids()
        #expect(after[db] == before[db] && after[web] == nil, "\(after)")
        let replacement = try await netns.docker("ps", "-q", "--filter", "label=berth.project=\(project)", "--filter", "label=berth.name=web")
        #expect(!replacement.isEmpty, "web runs as a Berth container")
    }
}
