import BerthCore
import Foundation
import Testing

@testable import BerthCompose

@Suite("Compose loader: the canonical form")
struct LoaderNormalizationTests {
    /// The service `web` of a compose file whose `web` holds `fields` (indented by four spaces).
    private func web(_ fields: String, environment: [String: String] = [:]) throws -> (InputNode, LoaderFixture) {
        let fixture = try LoaderFixture()
        try fixture.write("compose.yaml", "services:\n  web:\n" + fields)
        let project = try fixture.load(environment: environment)
        return (try #require(project.document.at("services.web")), fixture)
    }

    @Test(
        "short port syntax becomes one long entry per port",
        arguments: [
            ("\"8080:80\"", [#"{"mode":"ingress","target":"80","published":"8080","protocol":"tcp"}"#]),
            ("\"80\"", [#"{"mode":"ingress","target":"80","protocol":"tcp"}"#]),
            ("80", [#"{"mode":"ingress","target":"80","protocol":"tcp"}"#]),
            ("\"127.0.0.1:8080:80/udp\"", [#"{"mode":"ingress","host_ip":"127.0.0.1","target":"80","published":"8080","protocol":"udp"}"#]),
            ("\"127.0.0.1::80\"", [#"{"mode":"ingress","host_ip":"127.0.0.1","target":"80","protocol":"tcp"}"#]),
            ("\"[::1]:53:53/udp\"", [#"{"mode":"ingress","host_ip":"::1","target":"53","published":"53","protocol":"udp"}"#]),
            (
                "\"8000-8001:9000-9001\"",
                [
                    #"{"mode":"ingress","target":"9000","published":"8000","protocol":"tcp"}"#, #"{"mode":"ingress","target":"9001","published":"8001","protocol":"tcp"}"#,
                ]
            ),
            ("\"8000-8001\"", [#"{"mode":"ingress","target":"8000","protocol":"tcp"}"#, #"{"mode":"ingress","target":"8001","protocol":"tcp"}"#]),
            ("\"9000-9001:80\"", [#"{"mode":"ingress","target":"80","published":"9000-9001","protocol":"tcp"}"#]),
        ])
    func shortPorts(written: String, expected: [String]) throws {
        let (web, _) = try web("    image: x\n    ports:\n      - \(written)\n")
        #expect(web["ports"]?.items?.map(\.plain) == expected)
    }

    @Test func shortVolumesBecomeLongEntriesWithAbsoluteSources() throws {
        let (web, fixture) = try web(
            """
                image: x
                volumes:
                  - data:/data:ro
                  - ./rel:/x
                  - /abs:/y:rw,z
                  - ~/cache:/cache
                  - /anonymous
                  - vol:/nocopy:nocopy
                  - ../up/./down:/up:ro,rshared
                  - type: bind
                    source: ./long
                    target: /long

            """)
        let volumes = try #require(web["volumes"]?.items).map(\.plain)
        let dir = fixture.directory
        let parent = ComposePaths.directory(of: dir)
        #expect(
            volumes == [
                #"{"type":"volume","source":"data","target":"/data","read_only":true}"#,
                #"{"type":"bind","source":"\#(dir)/rel","target":"/x","bind":{"create_host_path":true}}"#,
                #"{"type":"bind","source":"/abs","target":"/y","bind":{"create_host_path":true,"selinux":"z"}}"#,
                #"{"type":"bind","source":"/home/tester/cache","target":"/cache","bind":{"create_host_path":true}}"#,
                #"{"type":"volume","target":"/anonymous"}"#,
                #"{"type":"volume","source":"vol","target":"/nocopy","volume":{"nocopy":true}}"#,
                #"{"type":"bind","source":"\#(parent)/up/down","target":"/up","read_only":true,"bind":{"create_host_path":true,"propagation":"rshared"}}"#,
                #"{"type":"bind","source":"\#(dir)/long","target":"/long"}"#,
            ])
    }

    @Test func listsAndStringsBecomeTheirCanonicalShapes() throws {
        let (web, _) = try web(
            """
                image: x
                command: sh -c 'echo "a b" && exit 0'
                entrypoint: ["/bin/tini", "--"]
                environment:
                  - PLAIN=1
                  - EMPTY=
                  - FROM_PROCESS
                  - UNSET
                  - WITH=equals=inside
                labels:
                  - com.example.a=1
                  - bare
                depends_on: [db]
                healthcheck:
                  test: curl -f http://localhost/
                  retries: 3
                ulimits:
                  nproc: 65535
                  nofile: {soft: 1024, hard: 2048}
                networks: [front, back]
                secrets: [token]
                configs:
                  - source: conf
                    target: /etc/conf
                tmpfs: /run
                dns: 8.8.8.8
                cap_add: [NET_ADMIN]
                expose: [3306, "80"]
                extra_hosts: ["db:10.0.0.2", "v6=::1"]
                sysctls: [net.core.somaxconn=1024]
                build: ./app
              db:
                image: db

            """, environment: ["FROM_PROCESS": "p"])
        #expect(web["command"]?.strings == ["sh", "-c", #"echo "a b" && exit 0"#])
        #expect(web["entrypoint"]?.strings == ["/bin/tini", "--"])
        #expect(web["environment"]?.plain == #"{"PLAIN":"1","EMPTY":"","FROM_PROCESS":"p","UNSET":~,"WITH":"equals=inside"}"#)
        #expect(web["labels"]?.plain == #"{"com.example.a":"1","bare":""}"#)
        #expect(web["depends_on"]?.plain == #"{"db":{"condition":"service_started","required":true}}"#)
        #expect(web.at("healthcheck.test")?.strings == ["CMD-SHELL", "curl -f http://localhost/"])
        #expect(web["ulimits"]?.plain == #"{"nproc":{"soft":"65535","hard":"65535"},"nofile":{"soft":"1024","hard":"2048"}}"#)
        #expect(web["networks"]?.plain == #"{"front":{},"back":{}}"#)
        #expect(web["secrets"]?.plain == #"[{"source":"token"}]"#)
        #expect(web["configs"]?.plain == #"[{"source":"conf","target":"/etc/conf"}]"#)
        #expect(web["tmpfs"]?.strings == ["/run"])
        #expect(web["dns"]?.strings == ["8.8.8.8"])
        #expect(web["expose"]?.items?.map(\.stringValue) == ["3306", "80"])
        #expect(web["extra_hosts"]?.plain == #"{"db":"10.0.0.2","v6":"::1"}"#)
        #expect(web["sysctls"]?.plain == #"{"net.core.somaxconn":"1024"}"#)
        #expect(web.at("build.context")?.stringValue?.hasSuffix("/app/app") == true)
    }

    @Test func positionsAreThoseOfTheShortScalars() throws {
        let (web, fixture) = try web("    image: x\n    ports: [\"8080:80\"]\n")
        let port = try #require(web.at("ports.0"))
        #expect(port.location == SourceLocation(file: fixture.directory + "/compose.yaml", line: 4, column: 13))
        #expect(port["target"]?.location == port.location)
    }

    @Test func topLevelSectionsAreMappingsAndExternalOnesNamed() throws {
        let fixture = try LoaderFixture()
        try fixture.write(
            "compose.yaml",
            """
            version: "3.9"
            services:
              web: {image: x}
            volumes:
              data:
              old:
                external: {name: legacy}
              shared:
                external: true
            networks:
              front:
            secrets:
              token:
                file: ./secrets/token.txt
            x-anchor: &anchor {image: y}
            """)
        let project = try fixture.load()
        let document = project.document
        #expect(document.entries?.map(\.key) == ["name", "services", "networks", "volumes", "secrets", "x-anchor"])
        #expect(document["name"]?.stringValue == "app")
        #expect(document.at("volumes.data")?.plain == "{}")
        #expect(document.at("volumes.old")?.plain == #"{"external":true,"name":"legacy"}"#)
        #expect(document.at("volumes.shared")?.plain == #"{"external":true,"name":"shared"}"#)
        #expect(document.at("networks.front")?.plain == "{}")
        #expect(document.at("secrets.token.file")?.stringValue == fixture.directory + "/secrets/token.txt")
    }

    @Test func anchorsAndMergeKeysAreResolved() throws {
        let fixture = try LoaderFixture()
        try fixture.write(
            "compose.yaml",
            """
            x-common: &common
              image: shared
              restart: always
            services:
              a:
                <<: *common
              b:
                <<: *common
                image: own
            """)
        let project = try fixture.load()
        #expect(project.document.at("services.a.image")?.stringValue == "shared")
        #expect(project.document.at("services.b.image")?.stringValue == "own")
        #expect(project.document.at("services.b.restart")?.stringValue == "always")
    }

    @Test(
        "the project name comes from -p, COMPOSE_PROJECT_NAME, name: or the directory",
        arguments: [
            ("given", [:], "name: top\n", "given"), (nil, ["COMPOSE_PROJECT_NAME": "FromEnv"], "name: top\n", "fromenv"), (nil, [:], "name: My.Top\n", "mytop"),
            (nil, [:], "", "app"),
        ] as [(String?, [String: String], String, String)])
    func projectName(option: String?, environment: [String: String], header: String, expected: String) throws {
        let fixture = try LoaderFixture()
        try fixture.write("compose.yaml", header + "services:\n  web: {image: x}\n")
        #expect(try fixture.load(projectName: option, environment: environment).name == expected)
    }

    @Test func aProjectNameBerthCannotUseFails() throws {
        let fixture = try LoaderFixture()
        let file = try fixture.write("compose.yaml", "name: my_app\nservices:\n  web: {image: x}\n")
        let error = try #require(fixture.loadError(projectName: nil))
        #expect(error.description.hasPrefix("\(file):1:7: name: the project name \"my_app\" (from the top-level name) is not a valid Berth project name"))
    }
}
