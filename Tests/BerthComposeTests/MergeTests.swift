import BerthCore
import Foundation
import Testing

@testable import BerthCompose

@Suite("Compose file merging")
struct ComposeMergeTests {
    static let base = """
        services:
          web:
            image: web:1
            command: ["serve", "--port", "80"]
            entrypoint: /init
            environment:
              A: base
              B: base
            labels: [keep=1, change=base]
            ports:
              - "8080:80"
              - "127.0.0.1:9090:90/udp"
            volumes:
              - data:/data
              - ./conf:/etc/conf:ro
            secrets: [token]
            dns: 1.1.1.1
            cap_add: [NET_ADMIN]
            healthcheck:
              test: ["CMD", "check", "--base"]
              interval: 10s
            logging:
              driver: json-file
              options: {max-size: 10m}
            ulimits:
              nofile: 1024
            depends_on: [db]
            networks: [front]
          db:
            image: postgres
        volumes:
          data:
        networks:
          front:
        """

    static let override = """
        services:
          web:
            image: web:2
            command: serve --verbose
            environment:
              - B=override
              - C=new
            labels:
              change: override
            ports:
              - target: 80
                published: "8080"
                protocol: tcp
                host_ip: ""
                mode: host
              - "8443:443"
            volumes:
              - other:/data
              - ./extra:/extra
            secrets:
              - source: token
                target: /run/secrets/token
                mode: 0400
              - other
            dns: [8.8.8.8, 1.1.1.1]
            cap_add: [SYS_TIME]
            healthcheck:
              test: check --override
              retries: 3
            logging:
              driver: syslog
            ulimits:
              nofile: {soft: 2048}
            depends_on:
              cache: {condition: service_healthy}
            networks:
              back: {aliases: [web]}
          cache:
            image: redis
        x-extra: 1
        """

    private func merged() throws -> (InputNode, LoaderFixture) {
        let fixture = try LoaderFixture()
        try fixture.write("compose.yaml", Self.base)
        try fixture.write("override.yaml", Self.override)
        let project = try fixture.load(files: ["compose.yaml", "override.yaml"])
        return (try #require(project.document.at("services.web")), fixture)
    }

    @Test func scalarsAreReplacedAndCommandsReplacedWhole() throws {
        let (web, _) = try merged()
        #expect(web["image"]?.stringValue == "web:2")
        #expect(web["command"]?.strings == ["serve", "--verbose"])
        #expect(web["entrypoint"]?.strings == ["/init"])
        #expect(web.at("healthcheck.test")?.strings == ["CMD-SHELL", "check --override"])
        #expect(web.at("healthcheck.interval")?.stringValue == "10s")
        #expect(web.at("healthcheck.retries")?.plain == #""3""#)
    }

    @Test func mappingsMergeByKey() throws {
        let (web, _) = try merged()
        #expect(web["environment"]?.plain == #"{"A":"base","B":"override","C":"new"}"#)
        #expect(web["labels"]?.plain == #"{"keep":"1","change":"override"}"#)
        #expect(web.at("ulimits.nofile")?.plain == #"{"soft":"2048","hard":"1024"}"#)
        #expect(web["depends_on"]?.plain == #"{"db":{"condition":"service_started","required":true},"cache":{"condition":"service_healthy","required":true}}"#)
        #expect(web["networks"]?.plain == #"{"front":{},"back":{"aliases":["web"]}}"#)
    }

    @Test func portsMergeByHostIPPublishedTargetAndProtocol() throws {
        let (web, _) = try merged()
        let ports = try #require(web["ports"]?.items)
        #expect(ports.count == 3)
        #expect(ports[0].plain == #"{"mode":"host","target":"80","published":"8080","protocol":"tcp","host_ip":""}"#)
        #expect(ports[1].plain == #"{"mode":"ingress","host_ip":"127.0.0.1","target":"90","published":"9090","protocol":"udp"}"#)
        #expect(ports[2].at("published")?.stringValue == "8443")
    }

    @Test func volumesSecretsMergeByTargetAndListsAreUnioned() throws {
        let (web, fixture) = try merged()
        let volumes = try #require(web["volumes"]?.items)
        #expect(volumes.map { $0["target"]?.stringValue ?? "" } == ["/data", "/etc/conf", "/extra"])
        #expect(volumes[0]["source"]?.stringValue == "other")
        #expect(volumes[2]["source"]?.stringValue == fixture.directory + "/extra")
        #expect(web["secrets"]?.plain == #"[{"source":"token"},{"source":"token","target":"/run/secrets/token","mode":"0400"},{"source":"other"}]"#)
        #expect(web["dns"]?.strings == ["1.1.1.1", "8.8.8.8"])
        #expect(web["cap_add"]?.strings == ["NET_ADMIN", "SYS_TIME"])
    }

    @Test func loggingIsReplacedWhenTheDriverChanges() throws {
        let (web, _) = try merged()
        #expect(web["logging"]?.plain == #"{"driver":"syslog"}"#)
    }

    @Test func servicesAndExtensionsFromTheOverrideAreAdded() throws {
        let fixture = try LoaderFixture()
        try fixture.write("compose.yaml", Self.base)
        try fixture.write("override.yaml", Self.override)
        let project = try fixture.load(files: ["compose.yaml", "override.yaml"])
        #expect(project.document["services"]?.entries?.map(\.key) == ["web", "db", "cache"])
        #expect(project.document["x-extra"] != nil)
        #expect(project.files == [fixture.directory + "/compose.yaml", fixture.directory + "/override.yaml"])
    }

    @Test func theOverrideFileBesideTheDefaultFileIsPickedUp() throws {
        let fixture = try LoaderFixture()
        try fixture.write("docker-compose.yml", "services:\n  web:\n    image: base\n")
        try fixture.write("docker-compose.override.yml", "services:\n  web:\n    image: override\n")
        let project = try fixture.load()
        #expect(project.document.at("services.web.image")?.stringValue == "override")
        #expect(project.files.map(ComposePaths.baseName) == ["docker-compose.yml", "docker-compose.override.yml"])
    }

    @Test func composeYamlIsPreferredAndItsOverrideNamedAfterIt() throws {
        let fixture = try LoaderFixture()
        try fixture.write("compose.yaml", "services:\n  web:\n    image: compose\n")
        try fixture.write("docker-compose.yml", "services:\n  web:\n    image: docker-compose\n")
        try fixture.write("compose.override.yaml", "services:\n  web:\n    environment: [A=1]\n")
        let project = try fixture.load()
        #expect(project.document.at("services.web.image")?.stringValue == "compose")
        #expect(project.document.at("services.web.environment.A")?.stringValue == "1")
    }
}
