import BerthCore
import BerthDocker
import Foundation
import Testing

/// Reading a container's spec back from the engine is the inverse of creating it: a container
/// created from a spec that sets every field Berth maps reads back as that spec, field by field.
@Suite("Spec read-back on a real engine")
struct SpecReadBackTests {
    static func spec(_ engine: TestEngine) throws -> ServiceSpec {
        let options = ContainerOptions(
            logging: LoggingSpec(driver: "local", options: ["max-size": "10m"]), ulimits: ["nofile": Ulimit(soft: 1024, hard: 2048)],
            capAdd: [try Capability(parsing: "NET_ADMIN")], capDrop: [try Capability(parsing: "MKNOD")],
            extraHosts: [try ExtraHost(parsing: "db.internal:192.0.2.5")], tmpfs: [try TmpfsMount(parsing: "/run:size=64m")],
            shmSize: ByteSize(bytes: 128 * 1024 * 1024), tty: true, stdinOpen: true, sysctls: ["net.core.somaxconn": "1024"],
            readOnlyRootFilesystem: true, pidsLimit: 100, hostname: "probe", dns: ["192.0.2.53"], dnsSearch: ["example.internal"],
            devices: [try DeviceMapping(parsing: "/dev/null:/dev/null2:rw")], securityOpt: [try SecurityOption(parsing: "label=disable")]
        )
        let container = ContainerSpec(
            image: try ImageReference(parsing: engine.image), command: ["sleep 600"], entrypoint: ["/bin/sh", "-c"], workingDir: "/tmp",
            user: "nobody", env: ["MODE": .literal("test")], labels: ["tier": "front"],
            volumes: [try Mount(parsing: "data:/data"), try Mount(parsing: "/tmp:/host-tmp:ro")], network: .none,
            resources: ResourceLimits(memory: try ByteSize(parsing: "64Mi"), cpus: try CPUQuantity(parsing: "0.5")),
            stopSignal: try StopSignal(parsing: "SIGINT"), stopGracePeriod: .seconds(3), init: true, noNewPrivileges: true, options: options
        )
        return ServiceSpec(
            container: container, healthcheck: HealthcheckSpec(command: ["true"], interval: .seconds(2), timeout: .seconds(1), retries: 2, startPeriod: .seconds(1)))
    }

    @Test func aContainerBerthCreatedReadsBackAsItsSpec() async throws {
        try await withTestEngine { engine in
            // given: the container Berth creates for the spec (created, not started)
            let runtime = DockerEngine(client: engine.client)
            let spec = try Self.spec(engine)
            let id = ResourceID(kind: .service, project: engine.scope, name: "probe")
            let desired = try DesiredState.validate([
                Resource(metadata: ResourceMetadata(name: engine.scope), spec: .project(ProjectSpec())),
                Resource(metadata: ResourceMetadata(name: "data", project: engine.scope), spec: .volume(VolumeSpec())),
                Resource(metadata: ResourceMetadata(name: "probe", project: engine.scope), spec: .service(spec)),
            ])
            let plan = Planner.plan(desired: desired, observed: ObservedState(), now: Date())
            for action in plan.actions {
                switch action.operation {
                case .createVolume(let target): try await runtime.createVolume(target)
                case .createContainer(let target): _ = try await runtime.createContainer(target, environment: ["MODE": "test"])
                default: continue
                }
            }
            let name = ObjectName.serviceContainer(project: engine.scope, service: "probe", replica: 0)

            // when
            let (details, configuration) = try await engine.client.inspectContainerConfiguration(name)
            let image = try await engine.client.inspectImage(details.image).config
            let readBack = try #require(ServiceSpec(readingBack: configuration, image: image, defaultLogDriver: try await engine.client.info().loggingDriver))

            // then: equal field by field, in engine names, with Berth's labels left out
            #expect(desired.adoptionDifferences(observed: readBack, desired: spec, service: id) == [], "\(readBack)")
            #expect(readBack.container.volumes.contains(Mount(source: .volume("berth-\(engine.scope)-data"), target: "/data", readOnly: false)))
            #expect(readBack.container.labels == ["tier": "front"])
            #expect(readBack.restart == .never)
        }
    }

    @Test func whatTheImageGivesAndWhatComposeAddsReadsAsUnset() throws {
        // given: a compose container as the engine shows it, and its image
        let inspected = """
            {"Id": "0123456789abcdef0123", "Config": {"Image": "example/app:1", "Cmd": ["sh"], "Env": ["PATH=/bin", "ROLE=db"],
              "Labels": {"com.docker.compose.project": "shop", "maintainer": "x", "tier": "db"}, "WorkingDir": "/", "Hostname": "0123456789ab",
              "Healthcheck": {"Test": ["CMD-SHELL", "test -f /tmp/ok"], "Interval": 0, "Retries": 0}, "ExposedPorts": {"80/tcp": {}, "9000/tcp": {}}},
             "HostConfig": {"NetworkMode": "shop_default", "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
              "RestartPolicy": {"Name": "unless-stopped"}, "LogConfig": {"Type": "json-file", "Config": {}}, "ShmSize": 67108864, "PidsLimit": null},
             "NetworkSettings": {"Networks": {"shop_default": {"Aliases": ["db", "0123456789ab"], "IPAMConfig": null}}},
             "Mounts": [{"Type": "volume", "Name": "shop_data", "Destination": "/data", "RW": true},
                        {"Type": "volume", "Name": "f00d", "Destination": "/var/cache", "RW": true}]}
            """
        let image = """
            {"Cmd": ["sh"], "Env": ["PATH=/bin"], "Labels": {"maintainer": "x"}, "WorkingDir": "/", "ExposedPorts": {"9000/tcp": {}}, "Volumes": {"/var/cache": {}}}
            """
        let configuration = try JSONDecoder().decode(ContainerConfiguration.self, from: Data(inspected.utf8))
        let imageConfiguration = try JSONDecoder().decode(ImageConfiguration.self, from: Data(image.utf8))
        // when
        let spec = try #require(ServiceSpec(readingBack: configuration, image: imageConfiguration, defaultLogDriver: "json-file"))
        // then
        #expect(spec.container.command == nil && spec.container.workingDir == nil)
        #expect(spec.container.env == ["ROLE": .literal("db")])
        #expect(spec.container.labels == ["tier": "db"])
        #expect(spec.container.options == ContainerOptions())
        #expect(spec.container.volumes == [Mount(source: .volume("shop_data"), target: "/data", readOnly: false)])
        #expect(spec.container.networks == [NetworkAttachment(name: "shop_default", aliases: ["db"])])
        #expect(spec.ports.map(\.description) == ["8080:80/tcp"])
        #expect(spec.healthcheck == HealthcheckSpec(command: ["/bin/sh", "-c", "test -f /tmp/ok"]))
        #expect(spec.restart == .always)
    }
}
