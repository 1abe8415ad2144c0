import BerthCore
import BerthHTTP
import Foundation
import Testing
@testable import BerthDocker

/// What the engine records and answers, read back raw where Berth's own types do not model it:
/// create options, log filters, timeouts, the version endpoint and the decoder on real payloads.
@Suite("Engine contract against a real dockerd")
struct EngineContractTests {
    /// `GET /containers/{id}/json` as the engine sent it, through the client's one request helper.
    static func rawInspect(_ engine: TestEngine, _ id: String) async throws -> [UInt8] {
        try await engine.client.send("GET", "/containers/\(id)/json", what: "inspect container \(id)").body
    }

    @Test func createsWithEntrypointUserPortBindingsAndRestartPolicyAsTheEngineRecordsThem() async throws {
        try await withTestEngine { engine in
            // given: network none, where published ports are recorded but never bound
            let request = engine.request(["echo uid=$(id -u) gid=$(id -g)"]) { request in
                request.entrypoint = ["sh", "-c"]
                request.user = "1000:1001"
                request.exposedPorts = ["8080/tcp": .init(), "53/udp": .init()]
                request.hostConfig.portBindings = ["8080/tcp": [.init(hostIp: "127.0.0.1", hostPort: "18080")]]
                request.hostConfig.restartPolicy = .init(name: "on-failure")
            }

            // when
            let id = try await engine.client.createContainer(name: engine.name("shaped"), request)
            let payload = try await Self.rawInspect(engine, id)
            let reported = try JSONDecoder().decode(ReportedContainer.self, from: Data(payload))
            try await engine.client.startContainer(id)

            // then: the engine recorded each option, and the process ran as that user
            #expect(reported.config.entrypoint == ["sh", "-c"])
            #expect(reported.config.cmd == ["echo uid=$(id -u) gid=$(id -g)"])
            #expect(reported.config.user == "1000:1001")
            #expect(Set((reported.config.exposedPorts ?? [:]).keys) == ["8080/tcp", "53/udp"])
            #expect(reported.hostConfig.networkMode == "none")
            #expect(reported.hostConfig.portBindings == ["8080/tcp": [.init(hostIp: "127.0.0.1", hostPort: "18080")]])
            #expect(reported.hostConfig.restartPolicy.name == "on-failure")
            #expect(try await engine.client.waitContainer(id) == 0)
            #expect(String(decoding: try await engine.client.logs(id).stdout, as: UTF8.self) == "uid=1000 gid=1001\n")
            #expect(try await engine.client.inspectContainer(id).restartCount == 0, "on-failure does not restart a clean exit")
        }
    }

    @Test func logsSinceATimeAndTailExactlyTheLastLines() async throws {
        try await withTestEngine { engine in
            // given: three lines, then a gate the test opens after noting the time, then four more
            let script = "for i in 1 2 3; do echo a$i; done; while [ ! -e /tmp/go ]; do usleep 50000; done; for i in 1 2 3 4; do echo b$i; done"
            let id = try await engine.client.createContainer(name: engine.name("since"), engine.request(["sh", "-c", script]))
            try await engine.client.startContainer(id)
            try await engine.eventually(30, "the first lines are logged") {
                String(decoding: try await engine.client.logs(id).stdout, as: UTF8.self) == "a1\na2\na3\n"
            }
            try await Task.sleep(for: .milliseconds(100))
            let mark = Date()
            try await Task.sleep(for: .milliseconds(100))
            try await engine.client.writeArchive(id, path: "/tmp", entries: [.init(path: "go", contents: [])])
            #expect(try await engine.client.waitContainer(id, timeout: .seconds(60)) == 0, "the gate opened")

            // when
            let all = try await engine.client.logs(id)
            let since = try await engine.client.logs(id, since: mark)
            let lastThree = try await engine.client.logs(id, tail: 3)
            let lastFive = try await engine.client.logs(id, tail: 5)
            let lastTwoSince = try await engine.client.logs(id, tail: 2, since: mark)

            // then
            func text(_ logs: ContainerLogs) -> String { String(decoding: logs.stdout, as: UTF8.self) }
            #expect(text(all) == "a1\na2\na3\nb1\nb2\nb3\nb4\n")
            #expect(text(since) == "b1\nb2\nb3\nb4\n")
            #expect(text(lastThree) == "b2\nb3\nb4\n")
            #expect(text(lastFive) == "a3\nb1\nb2\nb3\nb4\n")
            #expect(text(lastTwoSince) == "b3\nb4\n")
            #expect([all, since, lastThree, lastFive, lastTwoSince].allSatisfy { $0.stderr.isEmpty })
        }
    }

    @Test func decodesARealPayloadIgnoringUnknownFieldsAndNamesAMissingOne() async throws {
        try await withTestEngine { engine in
            // given: a container's inspect JSON as the engine sent it
            let id = try await engine.client.createContainer(name: engine.name("payload"), engine.request(["true"]))
            let payload = try await Self.rawInspect(engine, id)
            let raw = try #require(try JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any])
            func decode(_ object: [String: Any]) throws(DockerError) -> ContainerDetails {
                let body = (try? JSONSerialization.data(withJSONObject: object)).map(Array.init) ?? []
                return try engine.client.decode(ContainerDetails.self, HTTPResponse(status: 200, headers: [:], body: body), "inspect container")
            }

            // when: fields a newer engine might add, at the top and nested
            var extended = raw
            extended["BerthFieldFromTheFuture"] = ["Nested": [1, 2, 3], "Text": "x"]
            var state = try #require(raw["State"] as? [String: Any])
            state["AlsoNew"] = true
            extended["State"] = state

            // then: decoded exactly as the client decodes the original
            let original = try await engine.client.inspectContainer(id)
            #expect(try decode(extended) == original)

            // and a required field removed is a decoding error naming it
            var withoutStatus = raw
            state["Status"] = nil
            withoutStatus["State"] = state
            var withoutImage = raw
            var config = try #require(raw["Config"] as? [String: Any])
            config["Image"] = nil
            withoutImage["Config"] = config
            var withoutID = raw
            withoutID["Id"] = nil
            for (broken, field) in [(withoutID, "Id"), (withoutStatus, "State.Status"), (withoutImage, "Config.Image")] {
                let error = #expect(throws: DockerError.self) { _ = try decode(broken) }
                #expect(error?.code == .decoding)
                #expect(error?.message.contains("inspect container: missing field \(field)") == true, "\(error.map(String.init(describing:)) ?? "")")
            }
        }
    }

    @Test func aWaitPastItsTimeoutIsATypedTimeoutAndLeavesTheContainerRunning() async throws {
        try await withTestEngine { engine in
            let id = try await engine.client.createContainer(name: engine.name("slow"), engine.request(["sleep", "300"]))
            try await engine.client.startContainer(id)
            _ = try await engine.client.apiVersion()

            let started = Date()
            let error = await #expect(throws: DockerError.self) { _ = try await engine.client.waitContainer(id, timeout: .milliseconds(500)) }

            #expect(error?.code == .timeout, "\(error.map(String.init(describing:)) ?? "")")
            #expect(error?.isRetryable == true)
            #expect(Date().timeIntervalSince(started) < 30, "the timeout ended the wait, not the container")
            #expect(try await engine.client.inspectContainer(id).state.status == "running")
        }
    }

    @Test func reportsTheEnginesVersionAndSpeaksTheNegotiatedAPI() async throws {
        try await withTestEngine { engine in
            let version = try await engine.client.version()

            #expect(version.version.split(separator: ".").count >= 2, "\(version.version)")
            let api = try #require(APIVersion(version.apiVersion), "\(version.apiVersion)")
            #expect(api >= DockerClient.minimumAPIVersion)
            let oldest = try #require(version.minAPIVersion.flatMap(APIVersion.init), "\(version.minAPIVersion ?? "none")")
            #expect(oldest <= api)
            #expect(version.os == "linux")
            #expect(version.arch?.isEmpty == false)
            #expect(try await engine.client.apiVersion() == min(api, DockerClient.maximumAPIVersion))
        }
    }
}

/// The parts of the engine's inspect JSON that Berth writes but does not read back.
private struct ReportedContainer: Decodable {
    var config: Config
    var hostConfig: HostConfig

    struct Config: Decodable {
        var entrypoint: [String]?
        var cmd: [String]?
        var user: String?
        var exposedPorts: [String: ContainerCreateRequest.EmptyObject]?

        enum CodingKeys: String, CodingKey { case entrypoint = "Entrypoint", cmd = "Cmd", user = "User", exposedPorts = "ExposedPorts" }
    }

    struct HostConfig: Decodable {
        var networkMode: String
        var portBindings: [String: [Binding]]?
        var restartPolicy: RestartPolicy

        enum CodingKeys: String, CodingKey { case networkMode = "NetworkMode", portBindings = "PortBindings", restartPolicy = "RestartPolicy" }
    }

    struct Binding: Decodable, Hashable {
        var hostIp: String
        var hostPort: String

        enum CodingKeys: String, CodingKey { case hostIp = "HostIp", hostPort = "HostPort" }
    }

    struct RestartPolicy: Decodable {
        var name: String

        enum CodingKeys: String, CodingKey { case name = "Name" }
    }

    enum CodingKeys: String, CodingKey { case config = "Config", hostConfig = "HostConfig" }
}
