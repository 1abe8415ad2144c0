import BerthCore
import Foundation
import Testing

@testable import BerthCompose

@Suite("Compose loader: extends, include and profiles")
struct LoaderStructureTests {
    @Test func extendsInTheSameFileMergesTheExtendingServiceOverTheBase() throws {
        let fixture = try LoaderFixture()
        try fixture.write(
            "compose.yaml",
            """
            services:
              base:
                image: app
                environment: {LEVEL: base, KEEP: "1"}
                command: run base
                volumes: ["./data:/data"]
              web:
                extends: base
                environment: {LEVEL: web}
                command: run web
              worker:
                extends:
                  service: web
                ports: ["80"]
            """)
        let project = try fixture.load()
        let worker = try #require(project.document.at("services.worker"))
        #expect(worker["image"]?.stringValue == "app")
        #expect(worker["environment"]?.plain == #"{"LEVEL":"web","KEEP":"1"}"#)
        #expect(worker["command"]?.strings == ["run", "web"])
        #expect(worker.at("volumes.0.source")?.stringValue == fixture.directory + "/data")
        #expect(worker["extends"] == nil)
        #expect(worker.at("ports.0.target")?.plain == #""80""#)
    }

    @Test func extendsFromAnotherFileResolvesItsPathsAgainstThatFile() throws {
        let fixture = try LoaderFixture()
        try fixture.write("compose.yaml", "services:\n  web:\n    extends:\n      file: common/base.yaml\n      service: app\n    image: mine\n")
        try fixture.write("common/base.yaml", "services:\n  app:\n    image: theirs\n    env_file: app.env\n    volumes: [./static:/static]\n")
        try fixture.write("common/app.env", "FROM_BASE=1\n")
        let project = try fixture.load()
        let web = try #require(project.document.at("services.web"))
        #expect(web["image"]?.stringValue == "mine")
        #expect(web.at("volumes.0.source")?.stringValue == fixture.directory + "/common/static")
        #expect(web.at("environment.FROM_BASE")?.stringValue == "1")
        #expect(project.files.contains(fixture.directory + "/common/base.yaml"))
    }

    @Test func anExtendsCycleFailsNamingTheChain() throws {
        let fixture = try LoaderFixture()
        let file = try fixture.write(
            "compose.yaml",
            "services:\n  a:\n    extends: b\n  b:\n    extends: c\n  c:\n    extends: a\n")
        let error = try #require(fixture.loadError())
        #expect(error.description == "\(file):7:14: services.c.extends: extends forms a cycle: a → b → c → a; break the cycle")
    }

    @Test func extendingAMissingServiceFailsAtTheReference() throws {
        let fixture = try LoaderFixture()
        let file = try fixture.write("compose.yaml", "services:\n  web:\n    extends: nothing\n")
        let error = try #require(fixture.loadError())
        #expect(error.description == "\(file):3:14: services.web.extends: extends service \"nothing\", which \(file) does not define")
    }

    @Test func includeAddsTheIncludedProjectsResourcesWithItsOwnDirectoryAndEnv() throws {
        let fixture = try LoaderFixture()
        try fixture.write("compose.yaml", "include:\n  - sub/compose.yaml\n  - path: [other/compose.yaml]\n    env_file: other/custom.env\nservices:\n  web:\n    image: web\n    depends_on: [db]\n")
        try fixture.write("sub/compose.yaml", "services:\n  db:\n    image: postgres:${PG}\n    volumes: [./pgdata:/var/lib/postgresql/data]\nvolumes:\n  cache: {}\n")
        try fixture.write("sub/.env", "PG=16\n")
        try fixture.write("other/compose.yaml", "services:\n  cache:\n    image: redis:${REDIS}\n")
        try fixture.write("other/custom.env", "REDIS=7\n")
        let project = try fixture.load()
        #expect(project.document["services"]?.entries?.map(\.key) == ["web", "db", "cache"])
        #expect(project.document.at("services.db.image")?.stringValue == "postgres:16")
        #expect(project.document.at("services.db.volumes.0.source")?.stringValue == fixture.directory + "/sub/pgdata")
        #expect(project.document.at("services.cache.image")?.stringValue == "redis:7")
        #expect(project.document.at("volumes.cache") != nil)
    }

    @Test func includeConflictsAndCyclesFail() throws {
        let fixture = try LoaderFixture()
        let file = try fixture.write("compose.yaml", "include: [sub.yaml]\nservices:\n  db:\n    image: mine\n")
        try fixture.write("sub.yaml", "services:\n  db:\n    image: theirs\n")
        let conflict = try #require(fixture.loadError())
        #expect(conflict.description.hasPrefix("\(file):1:11: include[0]: services.db is defined both here and in the included \(fixture.directory)/sub.yaml"))

        try fixture.write("sub.yaml", "include: [compose.yaml]\nservices:\n  other:\n    image: x\n")
        let cycle = try #require(fixture.loadError())
        #expect(cycle.description.contains("include forms a cycle: \(file) → \(fixture.directory)/sub.yaml → \(file)"))
    }

    @Test func inactiveProfilesRemoveServicesAndTheDependenciesOnThem() throws {
        let fixture = try LoaderFixture()
        try fixture.write(
            "compose.yaml",
            """
            services:
              web:
                image: web
                depends_on: [db, debug]
              db:
                image: db
              debug:
                image: debug
                profiles: [debug]
              tools:
                image: tools
                profiles: [tools, ops]
            """)
        let plain = try fixture.load()
        #expect(plain.document["services"]?.entries?.map(\.key) == ["web", "db"])
        #expect(plain.document.at("services.web.depends_on")?.entries?.map(\.key) == ["db"])

        let debug = try fixture.load(profiles: ["debug"], environment: ["COMPOSE_PROFILES": "ops"])
        #expect(debug.document["services"]?.entries?.map(\.key) == ["web", "db", "debug", "tools"])
        #expect(debug.document.at("services.debug.profiles") == nil)
        #expect(debug.document.at("services.web.depends_on")?.entries?.map(\.key) == ["db", "debug"])

        let all = try fixture.load(profiles: ["*"])
        #expect(all.document["services"]?.entries?.count == 4)
    }
}
