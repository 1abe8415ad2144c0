import BerthCore
import BerthDocker
import BerthHTTP
import Foundation
import Testing

@Suite("Docker engine client against a real dockerd")
struct DockerClientTests {
    @Test func pingsAndNegotiatesAnAPIVersionOfAtLeast141() async throws {
        try await withTestEngine { engine in
            #expect(try await engine.client.ping())
            let version = try await engine.client.apiVersion()
            #expect(version >= DockerClient.minimumAPIVersion)
            #expect(version <= DockerClient.maximumAPIVersion)
            let info = try await engine.client.info()
            #expect(info.cpus >= 1 && info.memoryBytes > 0)
        }
    }

    /// A new client's first requests, made together, share the negotiation of the API version;
    /// one that failed (the engine not up yet) is tried again by the next request.
    @Test func aFailedNegotiationIsTriedAgainAndConcurrentFirstRequestsShareOne() async throws {
        try await withTestEngine { engine in
            guard case .unixSocket(let socket) = engine.client.endpoint.connection else {
                Issue.record("the test engine listens on a unix socket")
                return
            }
            let link = FileManager.default.temporaryDirectory.appendingPathComponent("\(engine.scope).sock").path
            defer { try? FileManager.default.removeItem(atPath: link) }
            let client = DockerClient(endpoint: try DockerEndpoint(host: "unix://\(link)"))
            // when the engine cannot be reached yet
            let refused = await #expect(throws: DockerError.self) { _ = try await client.apiVersion() }
            #expect(refused?.code == .unreachable, "\(refused.map(String.init(describing:)) ?? "")")
            // then it is tried again once it can, by requests made together
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: socket)
            async let containers = client.listContainers(labels: ["berth.test=\(engine.scope)"])
            async let volumes = client.listVolumes(labels: ["berth.test=\(engine.scope)"])
            let (listed, volumesListed) = try await (containers, volumes)
            #expect(listed.isEmpty && volumesListed.isEmpty)
            #expect(try await client.apiVersion() == engine.client.apiVersion())
        }
    }

    @Test func createsInspectsStartsStopsAndRemovesAContainer() async throws {
        try await withTestEngine { engine in
            // given
            let volume = try await engine.client.createVolume(VolumeCreateRequest(name: engine.name("data"), labels: engine.labels))
            let hostFolder = FileManager.default.temporaryDirectory.appendingPathComponent(engine.name("bind")).path
            try FileManager.default.createDirectory(atPath: hostFolder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: hostFolder) }
            let request = engine.request(["sleep", "300"], labels: ["berth.managed": "true"]) { request in
                request.env = ["GREETING=hello"]
                request.workingDir = "/tmp"
                request.stopSignal = "SIGINT"
                request.stopTimeout = 3
                request.healthcheck = .init(test: ["CMD", "true"], interval: 1_000_000_000, timeout: 10_000_000_000, retries: 5, startPeriod: 0)
                request.hostConfig.mounts = [
                    .init(type: "volume", source: volume.name, target: "/data", readOnly: false),
                    .init(type: "bind", source: hostFolder, target: "/config", readOnly: true),
                ]
                request.hostConfig.memory = 64 * 1024 * 1024
                request.hostConfig.nanoCpus = 500_000_000
                request.hostConfig.initProcess = true
                request.hostConfig.securityOpt = ["no-new-privileges:true"]
            }

            // when
            let id = try await engine.client.createContainer(name: engine.name("app"), request)
            let created = try await engine.client.inspectContainer(engine.name("app"))
            try await engine.client.startContainer(id)

            // then
            #expect(created.id == id)
            #expect(created.state.status == "created")
            #expect(created.labels["berth.test"] == engine.scope)
            #expect(Set(created.mounts.map(\.destination)) == ["/data", "/config"])
            try await engine.eventually(15, "the container is healthy") {
                try await engine.client.inspectContainer(id).state.health?.status == "healthy"
            }
            let running = try await engine.client.inspectContainer(id)
            #expect(running.state.status == "running" && running.state.startedAt != nil)
            let startedTwice = await #expect(throws: DockerError.self) { try await engine.client.startContainer(id) }
            #expect(startedTwice?.code == .notModified && startedTwice?.status == 304, "\(startedTwice.map(String.init(describing:)) ?? "")")

            try await engine.client.stopContainer(id, timeout: 3)
            let stopped = try await engine.client.inspectContainer(id)
            #expect(stopped.state.status == "exited")
            #expect(stopped.state.finishedAt != nil)
            let stoppedTwice = await #expect(throws: DockerError.self) { try await engine.client.stopContainer(id, timeout: 3) }
            #expect(stoppedTwice?.code == .notModified && stoppedTwice?.status == 304, "\(stoppedTwice.map(String.init(describing:)) ?? "")")

            try await engine.client.restartContainer(id, timeout: 1)
            #expect(try await engine.client.inspectContainer(id).state.status == "running")
            try await engine.client.renameContainer(id, to: engine.name("renamed"))
            #expect(try await engine.client.inspectContainer(id).name == engine.name("renamed"))
            try await engine.client.killContainer(id, signal: "SIGKILL")
            try await engine.client.removeContainer(id, force: true)
            let missing = await #expect(throws: DockerError.self) { try await engine.client.inspectContainer(id) }
            #expect(missing?.code == .notFound)
        }
    }

    @Test func aSecondCreateWithTheSameNameIsAConflict() async throws {
        try await withTestEngine { engine in
            _ = try await engine.client.createContainer(name: engine.name("twice"), engine.request(["true"]))
            let error = await #expect(throws: DockerError.self) {
                _ = try await engine.client.createContainer(name: engine.name("twice"), engine.request(["true"]))
            }
            #expect(error?.code == .conflict)
            #expect(error?.message.contains(engine.name("twice")) == true)
        }
    }

    @Test func aRequestTheEngineRefusesCarriesTheEnginesMessage() async throws {
        try await withTestEngine { engine in
            let error = await #expect(throws: DockerError.self) {
                _ = try await engine.client.createContainer(name: engine.name("bad"), engine.request(["true"]) { $0.hostConfig.memory = 1024 })
            }
            #expect(error?.code == .badRequest)
            #expect(error?.message.contains("create container \(engine.name("bad"))") == true)
            #expect(error?.message.lowercased().contains("memory") == true, "\(error.map(String.init(describing:)) ?? "")")
        }
    }

    @Test func unknownObjectsAreTypedNotFound() async throws {
        try await withTestEngine { engine in
            for call in [
                { _ = try await engine.client.inspectContainer(engine.name("nothing")) },
                { _ = try await engine.client.inspectVolume(engine.name("nothing")) },
                { _ = try await engine.client.inspectImage("localhost/\(engine.scope):none") },
            ] as [() async throws -> Void] {
                let error = await #expect(throws: DockerError.self) { try await call() }
                #expect(error?.code == .notFound)
            }
        }
    }

    @Test func waitsForTheExitCodeAndSeparatesStdoutFromStderr() async throws {
        try await withTestEngine { engine in
            let id = try await engine.client.createContainer(
                name: engine.name("logs"),
                engine.request(["sh", "-c", "for i in 1 2 3; do echo out$i; echo err$i >&2; done; exit 7"])
            )
            try await engine.client.startContainer(id)

            #expect(try await engine.client.waitContainer(id) == 7)
            let logs = try await engine.client.logs(id)
            #expect(String(decoding: logs.stdout, as: UTF8.self) == "out1\nout2\nout3\n")
            #expect(String(decoding: logs.stderr, as: UTF8.self) == "err1\nerr2\nerr3\n")
            let tail = try await engine.client.logs(id, tail: 1)
            #expect(String(decoding: tail.stdout + tail.stderr, as: UTF8.self).split(separator: "\n").count <= 2)
            #expect(try await engine.client.inspectContainer(id).state.exitCode == 7)
        }
    }

    @Test func pastEventsReportAnOutOfMemoryKill() async throws {
        try await withTestEngine { engine in
            // given: a container killed for going over its memory limit. The engine keeps only its
            // most recent events, and beside the whole suite (three events per health check of
            // other tests' containers) a container's can be gone within seconds: up to three
            // containers, until one's events are read back.
            var actions: [String] = []
            var oomOnly: [EngineEvent] = []
            // A container whose create and start were evicted before the read counts as unread.
            for attempt in 1...3 where !(actions.contains("oom") && actions.starts(with: ["create", "start"])) {
                let name = engine.name("hungry-\(attempt)")
                let since = Date().addingTimeInterval(-1)
                let id = try await engine.client.createContainer(
                    name: name,
                    engine.request(
                        ["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a)"]
                    ) { $0.hostConfig.memory = 16 * 1024 * 1024 })
                try await engine.client.startContainer(id)
                #expect(try await engine.client.waitContainer(id) == 137)

                // when: its past events, read without following
                _ = try await engine.poll(10) {
                    actions = try await engine.client.pastEvents(filters: ["container": [name]], since: since, until: Date()).map(\.action)
                    return actions.contains("oom")
                }
                oomOnly = try await engine.client.pastEvents(filters: ["type": ["container"], "container": [name], "event": ["oom"]], since: since, until: Date())
            }

            // then
            #expect(actions.starts(with: ["create", "start"]), "\(actions)")
            // One `oom` per process the kernel killed.
            #expect(!oomOnly.isEmpty && oomOnly.allSatisfy { $0.action == "oom" }, "\(oomOnly.map(\.action))")
        }
    }

    @Test func followsLogsAsTheyAreWritten() async throws {
        try await withTestEngine { engine in
            let id = try await engine.client.createContainer(
                name: engine.name("follow"), engine.request(["sh", "-c", "echo one; sleep 1; echo two >&2"])
            )
            try await engine.client.startContainer(id)
            var frames: [LogFrame] = []
            for try await frame in try await engine.client.followLogs(id) { frames.append(frame) }
            #expect(frames.map(\.stream) == [.stdout, .stderr])
            #expect(frames.map { String(decoding: $0.bytes, as: UTF8.self) } == ["one\n", "two\n"])
        }
    }

    @Test func writesAndReadsFilesThroughTheArchiveAPI() async throws {
        try await withTestEngine { engine in
            let id = try await engine.client.createContainer(name: engine.name("archive"), engine.request(["sleep", "60"]))
            let feedback = Array(#"{"ok": true, "items": [1, 2, 3]}"#.utf8)
            let big = (0..<5000).map { UInt8($0 % 251) }
            try await engine.client.writeArchive(
                id, path: "/tmp",
                entries: [
                    .init(path: "io", kind: .directory, mode: 0o755),
                    .init(path: "io/feedback.json", contents: feedback),
                    .init(path: "io/" + String(repeating: "n", count: 120) + "/big.bin", contents: big),
                ])

            let single = try await engine.client.readArchive(id, path: "/tmp/io/feedback.json")
            let folder = try await engine.client.readArchive(id, path: "/tmp/io")

            #expect(single.map(\.path) == ["feedback.json"])
            #expect(single.first?.contents == feedback)
            #expect(folder.first { $0.path.hasSuffix("big.bin") }?.contents == big)
            let missing = await #expect(throws: DockerError.self) { _ = try await engine.client.readArchive(id, path: "/tmp/none.json") }
            #expect(missing?.code == .notFound)
        }
    }

    @Test func managesVolumesWithLabelsAndRefusesToRemoveOneInUse() async throws {
        try await withTestEngine { engine in
            let name = engine.name("vol")
            let created = try await engine.client.createVolume(
                VolumeCreateRequest(
                    name: name, driver: "local", driverOpts: ["type": "tmpfs", "device": "tmpfs", "o": "size=1m"],
                    labels: engine.labels.merging(["berth.managed": "true"]) { $1 }
                ))
            #expect(created.labels["berth.test"] == engine.scope)
            #expect(created.options["type"] == "tmpfs")
            #expect(try await engine.client.listVolumes(labels: ["berth.test=\(engine.scope)"]).map(\.name) == [name])
            #expect(try await engine.client.inspectVolume(name).driver == "local")

            let user = try await engine.client.createContainer(
                name: engine.name("user"),
                engine.request(["true"]) {
                    $0.hostConfig.mounts = [.init(type: "volume", source: name, target: "/v", readOnly: false)]
                })
            let inUse = await #expect(throws: DockerError.self) { try await engine.client.removeVolume(name) }
            #expect(inUse?.code == .conflict)

            try await engine.client.removeContainer(user, force: true)
            try await engine.client.removeVolume(name)
            #expect(try await engine.client.listVolumes(labels: ["berth.test=\(engine.scope)"]).isEmpty)
        }
    }

    @Test func importsAnImageFromARootFilesystemTarball() async throws {
        try await withTestEngine { engine in
            let busybox = try Array(Data(contentsOf: URL(fileURLWithPath: "/bin/busybox")))
            let tar = TarArchive.write([
                .init(path: "bin", kind: .directory, mode: 0o755),
                .init(path: "bin/busybox", mode: 0o755, contents: busybox),
            ])
            let repository = "localhost/\(engine.scope)"

            try await engine.client.importImage(rootFilesystem: tar, repository: repository, tag: "v1")
            let image = try await engine.client.inspectImage("\(repository):v1")

            #expect(image.repoTags.contains("\(repository):v1"))
            let id = try await engine.client.createContainer(name: engine.name("imported"), engine.request(["/bin/busybox", "echo", "imported"]) { $0.image = "\(repository):v1" })
            try await engine.client.startContainer(id)
            #expect(try await engine.client.waitContainer(id) == 0)
            #expect(String(decoding: try await engine.client.logs(id).stdout, as: UTF8.self) == "imported\n")
            try await engine.client.removeContainer(id, force: true)
            try await engine.client.removeImage("\(repository):v1")
            let gone = await #expect(throws: DockerError.self) { _ = try await engine.client.inspectImage("\(repository):v1") }
            #expect(gone?.code == .notFound)
        }
    }

    @Test func aPullFromAnUnreachableRegistryFailsWithTheEnginesReason() async throws {
        try await withTestEngine { engine in
            let error = await #expect(throws: DockerError.self) {
                try await engine.client.pullImage("127.0.0.1:9/berth/none", tag: "1")
            }
            #expect(error?.message.contains("127.0.0.1:9") == true)
        }
    }

    /// The classification's signal is the container's own `State.OOMKilled`, read by inspecting
    /// it (`JobRuntime.jobContainer`), never the engine's event history. The flag can lag the exit
    /// on a loaded host, so it is looked for again for a while; beside the whole suite it was once
    /// never set at all, so up to three containers.
    @Test func aContainerKilledForUsingTooMuchMemoryIsOOMKilledInItsInspect() async throws {
        try await withTestEngine { engine in
            let runtime = DockerEngine(client: engine.client)
            var container: JobContainer?
            for attempt in 1...3 {
                let name = engine.name("oom-\(attempt)")
                let id = try await engine.client.createContainer(
                    name: name,
                    engine.request(["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"]) { $0.hostConfig.memory = 16 * 1024 * 1024 })
                try await engine.client.startContainer(id)
                #expect(try await engine.client.waitContainer(id) == 137, "killed, not ended by itself")
                if try await engine.poll(30, { try await runtime.jobContainer(named: name)?.oomKilled == true }) {
                    container = try await runtime.jobContainer(named: name)
                    break
                }
            }
            let killed = try #require(container, "no container of three had OOMKilled set in its inspect")
            #expect(killed.oomKilled && killed.exitCode == 137 && killed.state == .exited, "\(killed)")
            #expect(String(decoding: try await engine.client.logs(killed.id).stdout, as: UTF8.self).isEmpty, "it never got past the allocation")
        }
    }

    @Test func anEngineThatIsNotThereIsReportedWithItsAddress() async throws {
        let client = DockerClient(endpoint: try DockerEndpoint(host: "unix:///tmp/berth-no-such-docker.sock"))
        let error = await #expect(throws: DockerError.self) { _ = try await client.ping() }
        #expect(error?.code == .unreachable)
        #expect(error?.message.contains("/tmp/berth-no-such-docker.sock") == true)
        #expect(error?.isRetryable == true)
    }
}
