import BerthCore
import BerthHTTP
import Foundation
import Testing
@testable import BerthDocker

@Suite("Wire formats: tar, multiplexed logs, endpoints, event cursors")
struct WireFormatTests {
    @Test func tarRoundTripsFilesFoldersAndLongNames() throws {
        let long = String(repeating: "d", count: 90) + "/" + String(repeating: "f", count: 90) + ".json"
        let entries: [TarArchive.Entry] = [
            .init(path: "io", kind: .directory, mode: 0o755),
            .init(path: "io/empty.txt", contents: []),
            .init(path: "io/exact.bin", contents: [UInt8](repeating: 7, count: 512)),
            .init(path: long, mode: 0o600, contents: Array("{}".utf8)),
        ]
        let archive = TarArchive.write(entries)

        #expect(archive.count % 512 == 0)
        #expect(try TarArchive.read(archive) == entries)
    }

    @Test func tarRefusesACorruptHeader() {
        var archive = TarArchive.write([.init(path: "a.txt", contents: Array("hello".utf8))])
        archive[10] ^= 0xFF
        #expect(throws: TarArchive.FormatError.self) { try TarArchive.read(archive) }
        #expect(throws: TarArchive.FormatError.self) { try TarArchive.read(Array(TarArchive.write([.init(path: "b", contents: [1, 2, 3])]).prefix(514))) }
    }

    @Test func demultiplexesFramesSplitAcrossChunks() {
        func frame(_ stream: UInt8, _ text: String) -> [UInt8] {
            let payload = Array(text.utf8)
            let size = UInt32(payload.count)
            return [stream, 0, 0, 0, UInt8(size >> 24), UInt8(size >> 16 & 0xFF), UInt8(size >> 8 & 0xFF), UInt8(size & 0xFF)] + payload
        }
        let bytes = frame(1, "out\n") + frame(2, "err\n") + frame(1, String(repeating: "x", count: 300))
        var demultiplexer = LogDemultiplexer()
        var frames: [LogFrame] = []
        for start in stride(from: 0, to: bytes.count, by: 5) {
            frames += demultiplexer.feed(Array(bytes[start..<min(start + 5, bytes.count)]))
        }
        #expect(frames.map(\.stream) == [.stdout, .stderr, .stdout])
        #expect(frames.map(\.bytes.count) == [4, 4, 300])
    }

    @Test(arguments: [[UInt8]("host=web\r\nok\r\n".utf8), [0x02] + [UInt8]("x\r\n".utf8), [0x01, 0x00, 0x00, 0x41, 0x42]])
    func readsTheRawStreamOfATTYContainerAsStdout(_ bytes: [UInt8]) {
        // a container with a TTY sends its output as it is, without frame headers
        var demultiplexer = LogDemultiplexer()
        var logs = ContainerLogs()
        for start in stride(from: 0, to: bytes.count, by: 2) {
            for frame in demultiplexer.feed(Array(bytes[start..<min(start + 2, bytes.count)])) { logs.append(frame) }
        }
        #expect(logs.stdout == bytes && logs.stderr.isEmpty)
    }

    @Test(arguments: [
        ("unix:///var/run/docker.sock", "http://localhost", true),
        ("tcp://127.0.0.1:2375", "http://127.0.0.1:2375", false),
    ])
    func parsesDockerHost(host: String, baseURL: String, isSocket: Bool) throws {
        let endpoint = try DockerEndpoint(host: host)
        #expect(endpoint.baseURL == baseURL)
        let socket: Bool
        if case .unixSocket = endpoint.connection { socket = true } else { socket = false }
        #expect(socket == isSocket)
    }

    @Test func usesTLSFilesFromDockerCertPath() throws {
        let endpoint = try DockerEndpoint(host: "tcp://docker.example:2376", environment: ["DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs"])
        #expect(endpoint.baseURL == "https://docker.example:2376")
        guard case .tcp(tls: let files) = endpoint.connection, let tls = files else {
            Issue.record("expected TLS")
            return
        }
        #expect(tls.certificate == "/certs/cert.pem" && tls.key == "/certs/key.pem" && tls.certificateAuthority == "/certs/ca.pem")
        #expect(tls.verifyPeer)
    }

    @Test(arguments: ["ssh://host", "unix://relative.sock", "tcp://", "/var/run/docker.sock"])
    func refusesDockerHostsItCannotUse(host: String) {
        let error = #expect(throws: DockerError.self) { try DockerEndpoint(host: host) }
        #expect(error?.message.contains(host) == true)
    }

    @Test func anEventCursorDropsRepeatsAfterAResume() {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var cursor = EventCursor(since: start)
        let nano = Int64(1_800_000_001) * 1_000_000_000
        let create = EngineEvent(type: "container", action: "create", actorID: "a", attributes: [:], timeNano: nano)
        let start1 = EngineEvent(type: "container", action: "start", actorID: "a", attributes: [:], timeNano: nano)

        let first = cursor.admit(create)
        let sameInstant = cursor.admit(start1)
        let replayed = cursor.admit(create)
        let older = cursor.admit(EngineEvent(type: "container", action: "die", actorID: "a", attributes: [:], timeNano: nano - 1))

        #expect(first)
        #expect(sameInstant, "a different event at the same instant")
        #expect(!replayed, "replayed after a resume")
        #expect(!older, "older than the resume point")
        #expect(cursor.sinceText == "1800000001.000000000")
    }

    @Test func aNetworksEndpointsAreReadWithTheContainerNameEachWasMadeFor() throws {
        let json = #"""
            {"Name":"berth-p-default","Id":"n1","Driver":"bridge","Internal":false,"EnableIPv6":false,"IPAM":{"Config":[{"Subnet":"172.18.0.0/16"}]},
             "Containers":{"c0ffee":{"Name":"berth-p-web-0","EndpointID":"e1"},"ep-5a1e":{"Name":"berth-p-old-0","EndpointID":"e2"}},"Labels":{"berth.managed":"true"}}
            """#
        let network = try JSONDecoder().decode(NetworkDetails.self, from: Data(json.utf8))
        #expect(network.endpoints == ["c0ffee": .init(name: "berth-p-web-0"), "ep-5a1e": .init(name: "berth-p-old-0")])
        #expect(network.subnets == ["172.18.0.0/16"])
        let bare = try JSONDecoder().decode(NetworkDetails.self, from: Data(#"{"Name":"none","Id":"n2","Containers":null}"#.utf8))
        #expect(bare.endpoints.isEmpty)
    }

    @Test func engineTimesKeepNanosecondsAndZeroMeansNever() throws {
        let parsed = try #require(EngineTime.parse("2026-11-23T11:46:36.366112679Z"))
        #expect(abs(parsed.timeIntervalSince1970 - 1_795_434_396.366112679) < 0.000_01)
        #expect(EngineTime.parse("0001-01-01T00:00:00Z") == nil)
        #expect(EngineTime.parse("2026-11-23T11:46:36Z")?.timeIntervalSince1970 == 1_795_434_396)
        #expect(EngineTime.parse("2026-11-23T12:46:36.5+01:00")?.timeIntervalSince1970 == 1_795_434_396.5)
        #expect(EngineTime.parse("not a time") == nil)
    }

    @Test func mapsAServiceReplicaToAnEngineRequest() throws {
        // given
        let spec = ServiceSpec(
            container: ContainerSpec(
                image: try ImageReference(parsing: "example/app:1.4"), command: ["serve"], env: ["A": .literal("1")],
                labels: ["tier": "web"], volumes: [try Mount(parsing: "data:/data"), try Mount(parsing: "/srv/conf:/conf:ro")],
                networks: [NetworkAttachment(name: "backend", aliases: ["api"], ipv4Address: "10.20.0.5"), NetworkAttachment(name: "default")],
                resources: ResourceLimits(memory: try ByteSize(parsing: "512Mi"), cpus: try CPUQuantity(parsing: "1.5")),
                stopSignal: try StopSignal(parsing: "SIGINT"), stopGracePeriod: .milliseconds(2500), init: true, noNewPrivileges: true
            ),
            ports: [try PortMapping(parsing: "127.0.0.1:8080:80"), try PortMapping(parsing: "53/udp")],
            healthcheck: HealthcheckSpec(command: ["wget", "-q", "http://127.0.0.1/"], interval: .seconds(10), timeout: .seconds(3), retries: 3, startPeriod: .seconds(5))
        )
        let target = ContainerTarget(
            name: "berth-shop-web-0", service: ResourceID(kind: .service, project: "shop", name: "web"), replica: 0, spec: spec,
            labels: ["berth.managed": "true", "tier": "web"], volumeNames: [0: "berth-shop-data"],
            endpoints: [
                NetworkEndpoint(network: "berth-shop-backend", aliases: ["web", "api"], ipv4Address: "10.20.0.5"),
                NetworkEndpoint(network: "berth-shop-default", aliases: ["web"]),
            ]
        )

        // when
        let request = ContainerCreateRequest(target, environment: ["A": "1", "SECRET": "s3cr3t"])

        // then
        #expect(request.image == "example/app:1.4")
        #expect(request.cmd == ["serve"])
        #expect(request.env == ["A=1", "SECRET=s3cr3t"])
        #expect(request.labels == target.labels)
        #expect(request.stopSignal == "SIGINT" && request.stopTimeout == 3)
        #expect(request.healthcheck?.test == ["CMD", "wget", "-q", "http://127.0.0.1/"])
        #expect(request.healthcheck?.interval == 10_000_000_000 && request.healthcheck?.startPeriod == 5_000_000_000)
        #expect(request.exposedPorts?.keys.sorted() == ["53/udp", "80/tcp"])
        #expect(request.hostConfig.portBindings?["80/tcp"] == [.init(hostIp: "127.0.0.1", hostPort: "8080")])
        #expect(request.hostConfig.portBindings?["53/udp"] == nil)
        #expect(
            request.hostConfig.mounts == [
                .init(type: "volume", source: "berth-shop-data", target: "/data", readOnly: false),
                .init(type: "bind", source: "/srv/conf", target: "/conf", readOnly: true),
            ])
        // created on the first network (API 1.41 takes one), the engine connects the rest before the start
        #expect(request.hostConfig.networkMode == "berth-shop-backend")
        #expect(request.networkingConfig?.endpointsConfig.keys.sorted() == ["berth-shop-backend"])
        #expect(request.networkingConfig?.endpointsConfig["berth-shop-backend"]?.aliases == ["web", "api"])
        #expect(request.networkingConfig?.endpointsConfig["berth-shop-backend"]?.ipamConfig?.ipv4Address == "10.20.0.5")
        #expect(request.hostConfig.restartPolicy.name == "no")
        #expect(request.hostConfig.memory == 512 * 1024 * 1024 && request.hostConfig.nanoCpus == 1_500_000_000)
        #expect(request.hostConfig.initProcess == true && request.hostConfig.securityOpt == ["no-new-privileges:true"])
    }

    @Test func mapsEveryContainerOptionToTheEnginesFieldsAndLeavesUnsetOnesOut() throws {
        // given
        let options = try JobSpec(
            json: #"""
                {"image": "example/app:1", "network": "none", "noNewPrivileges": true,
                 "logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": "3"}},
                 "ulimits": {"nproc": 512, "nofile": {"soft": 1024, "hard": 2048}}, "capAdd": ["net_admin"], "capDrop": ["ALL"],
                 "extraHosts": ["db.local:127.0.0.1", "v6:[::1]"], "tmpfs": ["/run", "/tmp:size=64m,mode=1777"], "shmSize": "256Mi",
                 "tty": true, "stdinOpen": true, "sysctls": {"net.core.somaxconn": "1024"}, "readOnlyRootFilesystem": true, "pidsLimit": -1,
                 "hostname": "web", "dns": ["1.1.1.1"], "dnsSearch": ["example.org"], "devices": ["/dev/null:/dev/mynull:rw"],
                 "securityOpt": ["no-new-privileges", "seccomp=unconfined", "label:disable"]}
                """#
        ).container
        let plain = try JobSpec(json: #"{"image": "example/app:1", "network": "none"}"#).container

        // when
        let request = ContainerCreateRequest(options, labels: [:], volumeNames: [:], environment: [:])
        let json = String(decoding: try JSONEncoder().encode(ContainerCreateRequest(plain, labels: [:], volumeNames: [:], environment: [:])), as: UTF8.self)

        // then
        #expect(request.tty == true && request.openStdin == true && request.hostname == "web")
        let host = request.hostConfig
        #expect(host.logConfig == .init(type: "json-file", config: ["max-size": "10m", "max-file": "3"]))
        #expect(host.ulimits == [.init(name: "nofile", soft: 1024, hard: 2048), .init(name: "nproc", soft: 512, hard: 512)])
        #expect(host.capAdd == ["CAP_NET_ADMIN"] && host.capDrop == ["ALL"])
        #expect(host.extraHosts == ["db.local:127.0.0.1", "v6:::1"])
        #expect(host.tmpfs == ["/run": "", "/tmp": "size=64m,mode=1777"])
        #expect(host.shmSize == 256 << 20 && host.pidsLimit == -1 && host.readonlyRootfs == true)
        #expect(host.sysctls == ["net.core.somaxconn": "1024"])
        #expect(host.dns == ["1.1.1.1"] && host.dnsSearch == ["example.org"])
        #expect(host.devices == [.init(pathOnHost: "/dev/null", pathInContainer: "/dev/mynull", cgroupPermissions: "rw")])
        #expect(host.securityOpt == ["no-new-privileges:true", "seccomp=unconfined", "label=disable"], "no-new-privileges once, from either field")
        // a spec without options sends exactly what it sent before they existed
        for key in [
            "Tty", "OpenStdin", "Hostname", "LogConfig", "Ulimits", "CapAdd", "CapDrop", "ExtraHosts", "Tmpfs", "ShmSize", "Sysctls", "ReadonlyRootfs", "PidsLimit", "Dns", "DnsSearch", "Devices",
            "SecurityOpt",
        ] {
            #expect(!json.contains("\"\(key)\""), "\(key) in \(json)")
        }
        var onlyOption = plain
        onlyOption.options.securityOpt = [try SecurityOption(parsing: "no-new-privileges:true")]
        #expect(ContainerCreateRequest(onlyOption, labels: [:], volumeNames: [:], environment: [:]).hostConfig.securityOpt == ["no-new-privileges:true"])
    }

    @Test func negotiatesTheEnginesAPIVersionWithinBerthsRangeAndRefusesAnOlderEngine() throws {
        #expect(try DockerClient.negotiate(offered: "1.41") == APIVersion(major: 1, minor: 41))
        #expect(try DockerClient.negotiate(offered: "1.43") == APIVersion(major: 1, minor: 43))
        #expect(try DockerClient.negotiate(offered: "1.52") == DockerClient.maximumAPIVersion)
        #expect(try DockerClient.negotiate(offered: "2.0") == DockerClient.maximumAPIVersion)

        for old in ["1.40", "1.9", "0.99"] {
            let refused = #expect(throws: DockerError.self) { try DockerClient.negotiate(offered: old) }
            #expect(refused?.code == .badRequest)
            #expect(refused?.message == "the Docker engine speaks API \(old); Berth needs API 1.41 or later (Docker 20.10+)")
        }
        for unreadable in ["", "1", "one.two", "1.41.2"] {
            let error = #expect(throws: DockerError.self) { try DockerClient.negotiate(offered: unreadable) }
            #expect(error?.code == .decoding)
            #expect(error?.message.contains("\"\(unreadable)\"") == true)
        }
    }
}
