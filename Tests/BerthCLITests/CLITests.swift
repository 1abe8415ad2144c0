import Foundation
import Testing

/// What one run of the `berth` executable did.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs the built `berth` executable as a user would, from the package root.
enum BerthProcess {
    /// The package root, three levels above this file (`Tests/BerthCLITests/CLITests.swift`).
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `berth` is built into the same folder as the test bundle, whatever `--scratch-path` was used;
    /// on macOS the bundle's executable is a few folders deeper, so look upwards a little.
    static func executable() throws -> URL {
        var candidates: [URL] = []
        let runningBinaries = [Bundle.main.executableURL, URL(fileURLWithPath: CommandLine.arguments[0])].compactMap { $0 }
        for binary in runningBinaries {
            var folder = binary.resolvingSymlinksInPath().deletingLastPathComponent()
            for _ in 0..<4 {
                candidates.append(folder.appendingPathComponent("berth"))
                folder.deleteLastPathComponent()
            }
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug/berth"))
        for candidate in candidates {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isFolder), !isFolder.boolValue,
                FileManager.default.isExecutableFile(atPath: candidate.path)
            {
                return candidate
            }
        }
        throw SetupError(
            "the berth executable was not found; build it with `swift build --build-tests` first. Looked at: "
                + candidates.map(\.path).joined(separator: ", ")
        )
    }

    struct SetupError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// How long a command may take unless a test says otherwise: every wait has a bound.
    static let defaultTimeout = 300

    /// Runs `berth arguments…` in the package root; output goes through files so a large answer
    /// cannot fill a pipe and stall the child. Past `timeout` seconds the child is killed and the
    /// status is 124 (as coreutils' `timeout` reports it).
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Int = defaultTimeout) async throws -> CommandResult {
        try await runCommand([try executable().path] + arguments, environment: environment, timeout: timeout)
    }

    /// Runs any command (`argv[0]` a path) the way `run` runs `berth`: in the package root, output
    /// through files, awaited without blocking a thread (`ChildProcess`), bounded by `timeout` seconds.
    static func runCommand(_ argv: [String], environment: [String: String] = [:], timeout: Int = defaultTimeout) async throws -> CommandResult {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("berth-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout"), errURL = scratch.appendingPathComponent("stderr")
        let child = try ChildProcess(argv, environment: childEnvironment(environment), directory: packageRoot.path, stdout: outURL.path, stderr: errURL.path)
        let status = await child.exitStatus(within: .seconds(timeout)) ?? 124
        return CommandResult(
            status: status,
            stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self)
        )
    }

    /// This process's environment without what tests choose themselves, merged with `environment`.
    static func childEnvironment(_ environment: [String: String]) -> [String: String] {
        var processEnvironment = ProcessInfo.processInfo.environment
        processEnvironment.removeValue(forKey: "BERTH_MANIFESTS")
        // Tests choose the object storage themselves (Scenario.objectStorage).
        for name in ["BERTH_S3_ENDPOINT", "BERTH_S3_REGION", "BERTH_S3_ADDRESSING"] { processEnvironment.removeValue(forKey: name) }
        return processEnvironment.merging(environment) { _, new in new }
    }
}

/// A fresh temporary folder, removed after `body`.
private func withTemporaryFolder(_ body: (URL) async throws -> Void) async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-cli-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    try await body(folder)
}

private func jsonObject(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8))
}

/// Three problems, at known places.
private let invalidManifest = """
    apiVersion: berth/v1
    kind: Service
    metadata: {name: app}
    spec:
      image: nginx:1.27
      replicas: two
      imgae: nginx
    ---
    apiVersion: berth/v1
    kind: Volume
    metadata: {name: Data}

    """

@Suite("berth command line")
struct CLITests {
    // MARK: validate

    @Test func validatesTheQuickstartManifests() async throws {
        // when
        let result = try await BerthProcess.run(["validate", "-f", "manifests"])
        // then
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.hasPrefix("Valid: "))
        #expect(result.stdout.contains("in 1 file"))
        #expect(result.stderr.isEmpty)
    }

    @Test func readsTheFoldersInBerthManifestsWhenNoPathIsGiven() async throws {
        try await withTemporaryFolder { folder in
            // given
            let volumes = folder.appendingPathComponent("volumes"), jobs = folder.appendingPathComponent("jobs")
            try FileManager.default.createDirectory(at: volumes, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: jobs, withIntermediateDirectories: true)
            try "apiVersion: berth/v1\nkind: Volume\nmetadata: {name: data}\nspec: {}\n"
                .write(to: volumes.appendingPathComponent("data.yaml"), atomically: true, encoding: .utf8)
            try "apiVersion: berth/v1\nkind: Job\nmetadata: {name: once}\nspec: {image: busybox, volumes: [\"data:/data\"]}\n"
                .write(to: jobs.appendingPathComponent("once.yaml"), atomically: true, encoding: .utf8)
            // when
            let result = try await BerthProcess.run(["validate"], environment: ["BERTH_MANIFESTS": volumes.path + ":" + jobs.path])
            // then
            #expect(result.status == 0, "stderr: \(result.stderr)")
            #expect(result.stdout == "Valid: 2 resources in 2 files (1 project).\n")
        }
    }

    @Test func readsSettingsFromTheSettingsFileUnderTheEnvironment() async throws {
        try await withTemporaryFolder { folder in
            // given: a settings file naming one folder, in berth.env's format
            let volumes = folder.appendingPathComponent("volumes"), other = folder.appendingPathComponent("other")
            for place in [volumes, other] { try FileManager.default.createDirectory(at: place, withIntermediateDirectories: true) }
            try "apiVersion: berth/v1\nkind: Volume\nmetadata: {name: data}\nspec: {}\n".write(to: volumes.appendingPathComponent("data.yaml"), atomically: true, encoding: .utf8)
            try "apiVersion: berth/v1\nkind: Volume\nmetadata: {name: a}\nspec: {}\n---\napiVersion: berth/v1\nkind: Volume\nmetadata: {name: b}\nspec: {}\n"
                .write(to: other.appendingPathComponent("two.yaml"), atomically: true, encoding: .utf8)
            let settings = folder.appendingPathComponent("berth.env")
            try "# comment\n\nexport BERTH_LOG_LEVEL=info\nBERTH_MANIFESTS=\"\(volumes.path)\"\n".write(to: settings, atomically: true, encoding: .utf8)
            // when
            let fromFile = try await BerthProcess.run(["validate", "--json"], environment: ["BERTH_ENV_FILE": settings.path])
            let overridden = try await BerthProcess.run(["validate", "--json"], environment: ["BERTH_ENV_FILE": settings.path, "BERTH_MANIFESTS": other.path])
            try "BERTH_MANIFESTS=/x\nnot a setting\n".write(to: settings, atomically: true, encoding: .utf8)
            let malformed = try await BerthProcess.run(["serve", "--env-file", settings.path, "--listen", "127.0.0.1:0"])
            // then: the file's folder, unless the environment names another; a bad line is named
            #expect(fromFile.status == 0, "stderr: \(fromFile.stderr)")
            #expect((try #require(try jsonObject(fromFile.stdout) as? [String: Any])["resources"] as? [Any])?.count == 1)
            #expect(overridden.status == 0, "stderr: \(overridden.stderr)")
            #expect((try #require(try jsonObject(overridden.stdout) as? [String: Any])["resources"] as? [Any])?.count == 2)
            #expect(malformed.status != 0)
            #expect(malformed.stderr.contains("\(settings.path):2: expected NAME=value"), "\(malformed.stderr)")
        }
    }

    @Test func readsTheManifestsFolderWhenNeitherPathNorVariableIsGiven() async throws {
        // when: run in the package root, without -f and without BERTH_MANIFESTS
        let result = try await BerthProcess.run(["validate", "--json"])
        // then
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let report = try #require(try jsonObject(result.stdout) as? [String: Any])
        #expect(report["files"] as? [String] == ["manifests/quickstart.yaml"])
    }

    @Test(arguments: [
        (["--restart-backoff", "1m", "--restart-backoff-max", "10s"], "--restart-backoff-max (10s) is shorter than --restart-backoff (1m)"),
        (["--restart-backoff-reset", "soon"], "--restart-backoff-reset: "),
        (["--job-retry-backoff-max", "soon"], "--job-retry-backoff-max"),
        (["--job-retry-backoff", "10s", "--job-retry-backoff-max", "5s"], "--job-retry-backoff-max (5s) is shorter than --job-retry-backoff (10s)"),
        (["--job-lease", "500ms"], "--job-lease is at least 1s (it is renewed at a third of it), found 500ms"),
        (["--job-lease", "soon"], "--job-lease: "),
    ])
    func serveRefusesAnImpossibleBackoffNamingTheFlags(flags: [String], message: String) async throws {
        // when: it fails before it opens anything (a timeout ends it should it serve instead)
        let result = try await BerthProcess.run(["serve", "--listen", "127.0.0.1:0", "--state-dir", "/nonexistent/berth"] + flags, timeout: 60)
        // then
        #expect(result.status == 64, "a usage error: \(result.stderr)")
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
    }

    /// The limits of docs/manifests.md bound memory as well as time: a billion-laughs file and a
    /// 100,000-deep nesting are refused by a `berth validate` process that stays small. Its peak
    /// resident size is read by a python3 parent of its own (`RUSAGE_CHILDREN` of a process whose
    /// only child it is): this test process's children include other tests' engines and copies.
    @Test func hostileFilesAreRefusedInBoundedTimeAndMemory() async throws {
        let measured = """
            import resource, subprocess, sys
            status = subprocess.run(sys.argv[1:]).returncode
            print(f"peak child RSS {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} KiB", file=sys.stderr)
            sys.exit(status)
            """
        var bomb = "lol0: &lol0 \"lol\"\n"
        for level in 1...9 {
            bomb += "lol\(level): &lol\(level) [\(Array(repeating: "*lol\(level - 1)", count: 10).joined(separator: ", "))]\n"
        }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        try await withTemporaryFolder { folder in
            for (name, text, limit) in [("bomb.yaml", bomb, "maxNodes"), ("deep.yaml", deep, "maxDepth")] {
                let file = folder.appendingPathComponent(name)
                try text.write(to: file, atomically: true, encoding: .utf8)
                let started = ContinuousClock.now
                let result = try await BerthProcess.runCommand(["/usr/bin/python3", "-c", measured, try BerthProcess.executable().path, "validate", "-f", file.path])
                #expect(result.status == 1, "stderr: \(result.stderr)")
                #expect(result.stderr.contains(limit), "stderr: \(result.stderr)")
                #expect(ContinuousClock.now - started < .seconds(20))
                // Expanding the bomb alone would take gigabytes.
                let peak = result.stderr.split(separator: "\n").last.flatMap { Int($0.split(separator: " ").dropFirst(3).first ?? "") }
                #expect(peak.map { $0 > 0 && $0 < 256 * 1024 } == true, "\(name): \(result.stderr.suffix(300))")
            }
        }
    }

    @Test func thePostgreSQLPoolSizeComesFromAFlagOrTheEnvironmentWithinBounds() async throws {
        let url = try TestServices.postgresURL()
        // a size in bounds works, from the flag or the environment
        #expect(try await BerthProcess.run(["token", "list", "--database", url, "--database-pool", "2"]).status == 0)
        #expect(try await BerthProcess.run(["token", "list", "--database", url], environment: ["BERTH_DATABASE_POOL": "16"]).status == 0)
        // anything else is refused before connecting, naming the setting
        for (flags, environment) in [(["--database-pool", "0"], [:]), ([], ["BERTH_DATABASE_POOL": "many"])] as [([String], [String: String])] {
            let refused = try await BerthProcess.run(["token", "list", "--database", url] + flags, environment: environment)
            #expect(refused.status == 1, "stderr: \(refused.stderr)")
            #expect(refused.stderr.contains("--database-pool (or BERTH_DATABASE_POOL) takes a number of connections from 1 to 64"), "stderr: \(refused.stderr)")
        }
    }

    /// Berth links no libpq: it is loaded when a PostgreSQL store opens, so a `berth` on the
    /// embedded store starts without mapping it and the libraries it needs (`CLibraryLoader`).
    @Test func libpqIsLoadedOnlyWhenAPostgreSQLStoreOpens() async throws {
        let url = try TestServices.postgresURL()
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("berth-libpq-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: state) }
        // when: the same command on each store, with the dynamic loader naming every file it loads
        let embedded = try await BerthProcess.run(["token", "list", "--state-dir", state.path], environment: ["LD_DEBUG": "files", "BERTH_DATABASE_URL": ""])
        let postgres = try await BerthProcess.run(["token", "list", "--database", url], environment: ["LD_DEBUG": "files"])
        // then
        #expect(embedded.status == 0 && postgres.status == 0, "stderr: \(embedded.stderr.suffix(500)) / \(postgres.stderr.suffix(500))")
        #expect(embedded.stderr.contains("file=libsqlite3.so"), "the loader's trace is there")
        #expect(!embedded.stderr.contains("libpq.so"))
        #expect(postgres.stderr.contains("file=libpq.so.5"))
    }

    /// Berth links no libcurl either: a thread that starts with the process loads it (`CLibraryLoader`),
    /// beside the rest of the start-up, and the first request waits for that load.
    @Test func libcurlIsLoadedAfterStartNotLinked() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-libcurl-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("manifests"), withIntermediateDirectories: true)
        try "apiVersion: berth/v1\nkind: Service\nmetadata: {name: web}\nspec: {image: busybox, network: none}\n"
            .write(to: folder.appendingPathComponent("manifests/web.yaml"), atomically: true, encoding: .utf8)
        // when: a command whose first request finds no engine, with the loader naming every file it loads
        let result = try await BerthProcess.run(
            ["plan", "-f", folder.appendingPathComponent("manifests").path, "--state-dir", folder.appendingPathComponent("state").path],
            environment: ["LD_DEBUG": "files", "BERTH_DATABASE_URL": "", "DOCKER_HOST": "unix://\(folder.path)/no-engine.sock"]
        )
        // then: libcurl was opened after start, and its error reached the user
        #expect(result.status == 1, "stderr: \(result.stderr.suffix(500))")
        #expect(result.stderr.contains("file=libcurl.so.4 [0];  dynamically loaded by"), "stderr: \(result.stderr.suffix(2000))")
        #expect(!result.stderr.contains("file=libcurl.so.4 [0];  needed by"))
        #expect(result.stderr.contains("cannot reach the Docker engine at unix://\(folder.path)/no-engine.sock"), "stderr: \(result.stderr.suffix(500))")
    }

    /// A command that ends before libcurl's load does (`--version`, `validate`) exits cleanly: the
    /// load's thread only maps the library (`exit` waits for that), and curl's set-up, which
    /// registers OpenSSL's clean-up, runs at the first curl call. With the set-up on the loading
    /// thread, about one `--version` in 60 crashed at exit.
    @Test func exitingWhileLibcurlLoadsIsClean() async throws {
        for run in 1...200 {
            let result = try await BerthProcess.run(["--version"], environment: ["SWIFT_BACKTRACE": "enable=no"], timeout: 30)
            try #require(result.status == 0, "run \(run): exit \(result.status), stderr: \(result.stderr.suffix(500))")
        }
    }

    @Test func logLinesNameLevelLabelMetadataAndSource() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("berth-log-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: state) }
        // when
        let debug = try await BerthProcess.run(["token", "list", "--state-dir", state.path, "--log-level", "debug"], environment: ["BERTH_DATABASE_URL": ""])
        let quiet = try await BerthProcess.run(["token", "list", "--state-dir", state.path], environment: ["BERTH_DATABASE_URL": ""])
        // then
        #expect(debug.status == 0 && quiet.status == 0, "stderr: \(debug.stderr.suffix(500))")
        let line = try #require(debug.stderr.split(separator: "\n").first { $0.contains("opened the SQLite store") }, "stderr: \(debug.stderr)")
        #expect(line.contains(" debug berth.store: berth.store.path=\(state.path)/berth.sqlite berth.store.schema="), "\(line)")
        #expect(line.hasSuffix(" [BerthStore] opened the SQLite store"), "\(line)")
        #expect(!quiet.stderr.contains("opened the SQLite store"), "debug lines stay out at the default level: \(quiet.stderr)")
    }

    @Test func completionScriptsAreGeneratedForBashZshAndFish() async throws {
        for shell in ["bash", "zsh", "fish"] {
            let result = try await BerthProcess.run(["completions", shell])
            #expect(result.status == 0, "\(shell): \(result.stderr)")
            for command in ["serve", "import", "jobs", "completions"] {
                #expect(result.stdout.contains(command), "the \(shell) script completes \(command)")
            }
        }
        // The bash script is valid bash.
        let bash = try await BerthProcess.run(["completions", "bash"])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("berth-completion-\(UUID().uuidString).bash")
        defer { try? FileManager.default.removeItem(at: file) }
        try bash.stdout.write(to: file, atomically: true, encoding: .utf8)
        let check = try await BerthProcess.runCommand(["/bin/bash", "-n", file.path])
        #expect(check.status == 0 && check.stderr.isEmpty, "\(check.stderr)")
        let unknown = try await BerthProcess.run(["completions", "tcsh"])
        #expect(unknown.status == 64 && unknown.stderr.contains("'bash', 'zsh' or 'fish'"), "\(unknown.stderr)")
    }

    @Test func logLinesAreJSONObjectsWithLogFormatJSON() async throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("berth-log-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: state) }
        // when: the flag, and the environment variable
        let flag = try await BerthProcess.run(
            ["token", "list", "--state-dir", state.path, "--log-level", "debug", "--log-format", "json"], environment: ["BERTH_DATABASE_URL": ""])
        let variable = try await BerthProcess.run(
            ["token", "list", "--state-dir", state.path, "--log-level", "debug"], environment: ["BERTH_DATABASE_URL": "", "BERTH_LOG_FORMAT": "json"])
        // then: every line is one JSON object with the fields a log shipper reads
        for run in [flag, variable] {
            #expect(run.status == 0, "stderr: \(run.stderr.suffix(500))")
            let lines = run.stderr.split(separator: "\n")
            #expect(!lines.isEmpty)
            for line in lines {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object?["level"] is String && object?["label"] is String && object?["message"] is String, "\(line)")
                #expect((object?["time"] as? String).flatMap { try? Date($0, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) } != nil, "\(line)")
            }
            let opened = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.first {
                $0["message"] as? String == "opened the SQLite store"
            }
            #expect(opened?["level"] as? String == "debug" && opened?["label"] as? String == "berth.store", "\(run.stderr)")
            #expect((opened?["metadata"] as? [String: Any])?["berth.store.path"] as? String == "\(state.path)/berth.sqlite", "\(run.stderr)")
        }
        let wrong = try await BerthProcess.run(["token", "list", "--state-dir", state.path, "--log-format", "xml"], environment: ["BERTH_DATABASE_URL": ""])
        #expect(wrong.status == 64, "\(wrong.stderr)")
        #expect(wrong.stderr.contains("--log-format"), "\(wrong.stderr)")
    }

    /// The state folder and the SQLite files are the owner's alone; a state folder others can
    /// enter is reported, not changed.
    @Test func theStateFolderAndTheStoreFilesAreTheOwnersAlone() async throws {
        let parent = FileManager.default.temporaryDirectory.appendingPathComponent("berth-modes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: parent) }
        let state = parent.appendingPathComponent("state").path
        func mode(_ path: String) throws -> Int { try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1 }
        // when: a new state folder
        let created = try await BerthProcess.run(["token", "list", "--state-dir", state, "--log-level", "warning"], environment: ["BERTH_DATABASE_URL": ""])
        // then
        #expect(created.status == 0, "stderr: \(created.stderr)")
        #expect(try mode(state) == 0o700)
        for file in ["berth.sqlite", "berth.sqlite-wal", "berth.sqlite-shm"] where FileManager.default.fileExists(atPath: state + "/" + file) {
            #expect(try mode(state + "/" + file) == 0o600, "\(file)")
        }
        #expect(try mode(state + "/berth.sqlite") == 0o600)
        #expect(!created.stderr.contains("warning"), "stderr: \(created.stderr)")

        // when: the folder and the file opened to others
        #expect(chmod(state, 0o755) == 0 && chmod(state + "/berth.sqlite", 0o644) == 0)
        let loose = try await BerthProcess.run(["token", "list", "--state-dir", state, "--log-level", "warning"], environment: ["BERTH_DATABASE_URL": ""])
        // then: it works, and says what to tighten
        #expect(loose.status == 0, "stderr: \(loose.stderr)")
        #expect(loose.stderr.contains("\(state) can be accessed by group or others (mode 0755); run chmod 700 \(state)"), "stderr: \(loose.stderr)")
        #expect(loose.stderr.contains("\(state)/berth.sqlite can be accessed by group or others (mode 0644); run chmod 600 \(state)/berth.sqlite"), "stderr: \(loose.stderr)")
        #expect(try mode(state) == 0o755, "left as the operator set it")
    }

    /// A client config file with a token that others can read is refused, as ssh refuses a
    /// readable key; one without a token, or the owner's alone, is read.
    @Test func aConfigFileWithATokenThatOthersCanReadIsRefused() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("berth-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("config.yaml").path
        // An address nothing listens on: a command that gets past the config file fails to connect.
        try "server: http://127.0.0.1:9\ntoken: berth_not-a-real-token\n".write(toFile: config, atomically: true, encoding: .utf8)
        func listJobs() async throws -> CommandResult {
            try await BerthProcess.run(["jobs", "list"], environment: ["BERTH_CONFIG": config, "BERTH_SERVER": "", "BERTH_TOKEN": ""], timeout: 60)
        }
        for mode in [0o644, 0o640, 0o604] as [mode_t] {
            // when
            #expect(chmod(config, mode) == 0)
            let refused = try await listJobs()
            // then
            #expect(refused.status == 1, "stderr: \(refused.stderr)")
            #expect(refused.stderr.contains("it holds a token: \(config) can be accessed by group or others (mode 0\(String(mode, radix: 8))); run chmod 600 \(config)"), "stderr: \(refused.stderr)")
            #expect(!refused.stderr.contains("berth_not-a-real-token"))
        }
        // when: the owner's alone, it is read (and the server is not there)
        #expect(chmod(config, 0o600) == 0)
        let read = try await listJobs()
        #expect(read.status == 1 && !read.stderr.contains("chmod"), "stderr: \(read.stderr)")
        #expect(read.stderr.contains("127.0.0.1:9"), "it went to the configured server: \(read.stderr)")
    }

    @Test func reportsValidManifestsAsJSON() async throws {
        // when
        let result = try await BerthProcess.run(["validate", "-f", "manifests", "--json"])
        // then
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let report = try #require(try jsonObject(result.stdout) as? [String: Any])
        #expect(report["valid"] as? Bool == true)
        #expect(report["files"] as? [String] == ["manifests/quickstart.yaml"])
        #expect((report["issues"] as? [Any])?.isEmpty == true)
        let resources = try #require(report["resources"] as? [[String: String]])
        #expect(!resources.isEmpty)
        let kinds = ["Project", "Volume", "Service", "Job", "CronJob", "Bucket", "Certificate"]
        for resource in resources {
            #expect(kinds.contains(resource["kind"] ?? ""), "unexpected resource \(resource)")
            #expect(resource["name"]?.isEmpty == false)
            #expect(resource["project"]?.isEmpty == false)
        }
        #expect(resources.contains { $0["kind"] == "Project" })
    }

    @Test func listsEveryProblemWithFileLineAndColumn() async throws {
        try await withTemporaryFolder { folder in
            // given
            let file = folder.appendingPathComponent("broken.yaml")
            try invalidManifest.write(to: file, atomically: true, encoding: .utf8)
            // when
            let result = try await BerthProcess.run(["validate", "-f", file.path])
            // then
            #expect(result.status == 1)
            #expect(result.stdout.isEmpty)
            let lines = result.stderr.split(separator: "\n").map(String.init)
            #expect(
                lines == [
                    "error: \(file.path):6:13: Service default/app: spec.replicas: expected an integer, found string \"two\"",
                    "error: \(file.path):7:3: Service default/app: spec.imgae: unknown field \"imgae\" (did you mean \"image\"?)",
                    "error: \(file.path):11:18: metadata.name: names are lowercase, found \"Data\"; use \"data\"",
                    "3 problems found.",
                ])
        }
    }

    @Test func reportsInvalidManifestsAsJSON() async throws {
        try await withTemporaryFolder { folder in
            // given
            let file = folder.appendingPathComponent("broken.yaml")
            try invalidManifest.write(to: file, atomically: true, encoding: .utf8)
            // when
            let result = try await BerthProcess.run(["validate", "--json", "-f", file.path])
            // then
            #expect(result.status == 1)
            let report = try #require(try jsonObject(result.stdout) as? [String: Any])
            #expect(report["valid"] as? Bool == false)
            let issues = try #require(report["issues"] as? [[String: Any]])
            #expect(issues.map { $0["path"] as? String } == ["spec.replicas", "spec.imgae", "metadata.name"])
            let locations = issues.compactMap { $0["location"] as? [String: Any] }
            #expect(locations.count == 3)
            #expect(locations.map { $0["file"] as? String } == Array(repeating: file.path, count: 3))
            #expect(locations.map { $0["line"] as? Int } == [6, 7, 11])
            #expect(locations.map { $0["column"] as? Int } == [13, 3, 18])
            #expect(issues.allSatisfy { ($0["message"] as? String)?.isEmpty == false })
        }
    }

    @Test func namesAMissingPath() async throws {
        // when
        let result = try await BerthProcess.run(["validate", "-f", "manifests", "-f", "no/such/manifests.yaml"])
        // then
        #expect(result.status == 1)
        #expect(result.stderr.contains("no/such/manifests.yaml"))
        #expect(result.stderr.contains("does not exist"))
    }

    @Test(arguments: [["validate", "--frobnicate"], ["render", "-o", "xml"], ["launch"]])
    func exitsWithUsageErrorOnBadArguments(_ arguments: [String]) async throws {
        // when
        let result = try await BerthProcess.run(arguments)
        // then
        #expect(result.status == 64, "stdout: \(result.stdout) stderr: \(result.stderr)")
        #expect(!result.stderr.isEmpty)
    }

    // MARK: render

    @Test func rendersYAMLThatValidatesAndRendersTheSameAgain() async throws {
        try await withTemporaryFolder { folder in
            // given
            let first = try await BerthProcess.run(["render", "-f", "manifests"])
            #expect(first.status == 0, "stderr: \(first.stderr)")
            #expect(first.stdout.hasPrefix("---\napiVersion: berth/v1\n"))
            let rendered = folder.appendingPathComponent("rendered.yaml")
            try first.stdout.write(to: rendered, atomically: true, encoding: .utf8)
            // when
            let validated = try await BerthProcess.run(["validate", "-f", rendered.path])
            let second = try await BerthProcess.run(["render", "-f", rendered.path])
            // then
            #expect(validated.status == 0, "the rendered manifests are invalid: \(validated.stderr)")
            #expect(validated.stdout.hasPrefix("Valid: "))
            #expect(second.stdout == first.stdout)
        }
    }

    @Test func rendersJSONWithDefaultsFilledIn() async throws {
        // when
        let result = try await BerthProcess.run(["render", "-f", "manifests", "--json"])
        let long = try await BerthProcess.run(["render", "-f", "manifests", "-o", "json"])
        // then
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(long.stdout == result.stdout)
        let items = try #require(try jsonObject(result.stdout) as? [[String: Any]])
        #expect(!items.isEmpty)
        for item in items {
            #expect(item["apiVersion"] as? String == "berth/v1")
            #expect(item["kind"] is String)
            let metadata = item["metadata"] as? [String: Any]
            #expect(metadata?["name"] is String)
            if item["kind"] as? String == "Project" {
                #expect(metadata?["project"] == nil, "a Project is its own namespace")
            } else {
                #expect(metadata?["project"] is String)
            }
            #expect(item["spec"] is [String: Any])
        }
        let services = items.filter { $0["kind"] as? String == "Service" }.compactMap { $0["spec"] as? [String: Any] }
        #expect(!services.isEmpty, "the quickstart declares services")
        for spec in services {
            #expect(spec["replicas"] is Int)
            #expect(spec["restart"] is String)
            #expect(spec["stopGracePeriod"] is String)
            #expect(spec["stopSignal"] as? String == "SIGTERM")
            #expect(spec["resources"] is [String: Any], "project defaultResources are applied")
        }
    }

    // MARK: examples

    @Test func validatesEveryExample() async throws {
        // given
        let examples = BerthProcess.packageRoot.appendingPathComponent("examples")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: examples.path)) ?? []
        let folders = names.filter { name in
            var isFolder: ObjCBool = false
            return !name.hasPrefix(".")
                && FileManager.default.fileExists(atPath: examples.appendingPathComponent(name).path, isDirectory: &isFolder)
                && isFolder.boolValue
        }.sorted()
        guard !folders.isEmpty else {
            Issue.record("examples/ has no example folders to validate (looked in \(examples.path))")
            return
        }
        for folder in folders {
            // when
            let result = try await BerthProcess.run(["validate", "--json", "-f", "examples/\(folder)"])
            // then
            #expect(result.status == 0, "examples/\(folder) is invalid:\n\(result.stdout)\(result.stderr)")
            let report = try jsonObject(result.stdout) as? [String: Any]
            #expect(report?["valid"] as? Bool == true, "examples/\(folder)")
            #expect((report?["files"] as? [String])?.isEmpty == false, "examples/\(folder) holds no manifest files")
        }
    }
}
