import BerthCompose
import BerthCore
import BerthManifests
import Testing

@Suite("Compose translation warnings")
struct TranslationWarningTests {
    @Test func buildWithoutImageGetsComposeV2sImageNameAndAWarning() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              web:
                build: {context: /srv/shop/web, dockerfile: Dockerfile}
                ports: ["8000:8000"]
            """
        )
        #expect(try state.service("web").container.image.description == "shop-web")
        let warning = try #require(translation.warnings(about: "services.web.build").first)
        #expect(warning.location == SourceLocation(file: TranslationFixture.file, line: 3, column: 5))
        #expect(warning.message.contains("tag it shop-web"))
        #expect(warning.description.hasPrefix("/srv/shop/compose.yaml:3:5: services.web.build: "))
    }

    @Test func buildWithImageSaysToBuildAndTagIt() throws {
        let (state, translation) = try TranslationFixture.state(
            "services:\n  web:\n    image: registry.example.com/shop/web:2\n    build: {context: /srv/shop/web}\n"
        )
        #expect(try state.service("web").container.image.description == "registry.example.com/shop/web:2")
        #expect(translation.warnings(about: "services.web.build").first?.message.contains("build and tag registry.example.com/shop/web:2") == true)
    }

    /// Fields Berth has no equivalent for: each one a warning at its own place, the rest translated.
    @Test(arguments: [
        ("privileged: true", "services.app.privileged", "capAdd"),
        ("pid: host", "services.app.pid", "process namespace"),
        ("network_mode: \"service:db\"", "services.app.network_mode", "cannot share another container's network"),
        ("container_name: shop-app", "services.app.container_name", "berth-<project>-<service>-<replica>"),
        ("expose: [\"8000\"]", "services.app.expose", "not needed"),
        ("links: [db]", "services.app.links", "service name"),
        ("gpus: all", "services.app.gpus", "GPUs"),
        ("volumes_from: [db]", "services.app.volumes_from", "same Volume"),
        ("frobnicate: 3", "services.app.frobnicate", "not a compose field Berth knows"),
    ])
    func warnsAboutFieldsBerthCannotTranslate(line: String, field: String, reason: String) throws {
        let (state, translation) = try TranslationFixture.state(
            "services:\n  app:\n    image: busybox\n    \(line)\n  db:\n    image: busybox\n"
        )
        #expect(state.ids(.service) == ["app", "db"])
        let warning = try #require(translation.warnings(about: field).first, "\(translation.warnings)")
        #expect(warning.location?.line == 4)
        #expect(warning.location?.column == 5)
        #expect(warning.message.contains(reason), "\(warning.message)")
    }

    @Test func ignoresExtensionFieldsAndFalseValuesSilently() throws {
        let (_, translation) = try TranslationFixture.state(
            """
            x-defaults: &defaults
              restart: always
            services:
              app:
                image: busybox
                x-notes: anything
                privileged: false
                expose: []
            """
        )
        #expect(translation.warnings.isEmpty)
    }

    @Test func valuesBerthRefusesAreLeftOutWithTheirPlaceAndBerthsReason() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              app:
                image: busybox
                ports:
                  - {target: 80, published: "8080", protocol: tcp}
                  - {target: 81, published: "8000-8010", protocol: tcp}
                environment:
                  GOOD: "1"
                  BAD-NAME: "2"
                healthcheck:
                  test: ["CMD", "true"]
                  interval: 500us
                cap_add: [NOT_A_CAPABILITY]
            """
        )
        let app = try state.service("app")
        #expect(app.ports.map(\.description) == ["8080:80/tcp"])
        #expect(app.container.env == ["GOOD": .literal("1")])
        #expect(app.healthcheck?.interval == .seconds(30))
        #expect(app.container.options.capAdd.isEmpty)
        let port = try #require(translation.warnings(about: "services.app.ports[1]").first)
        #expect(port.location?.line == 6)
        #expect(port.message.contains("spec.ports[1]"))
        #expect(translation.warnings(about: "services.app.environment.BAD-NAME").first?.location?.line == 9)
        #expect(translation.warnings(about: "services.app.healthcheck.interval").first?.location?.line == 12)
        #expect(!translation.warnings(about: "services.app.cap_add[0]").isEmpty)
    }

    @Test func aServiceWhoseImageBerthRefusesIsLeftOutAndSoAreDependenciesOnIt() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              broken:
                image: "Example/App:1"
              app:
                image: busybox
                depends_on:
                  broken: {condition: service_started}
            """
        )
        #expect(state.ids(.service) == ["app"])
        #expect(translation.files["broken.yaml"] == nil)
        #expect(translation.warnings(about: "services.broken.image").first?.location?.line == 3)
        #expect(translation.warnings(about: "services.app.depends_on.broken").first?.message.contains("was not translated") == true)
    }

    @Test func healthyDependencyOnAServiceWithoutHealthcheckWaitsForStarted() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              db:
                image: postgres:16
              init:
                image: busybox
              app:
                image: busybox
                depends_on:
                  db: {condition: service_healthy}
                  init: {condition: service_completed_successfully}
            """
        )
        #expect(try state.service("app").dependsOn == [Dependency(name: "db"), Dependency(name: "init")])
        #expect(translation.warnings(about: "services.app.depends_on.db").first?.message.contains("declares none") == true)
        #expect(translation.warnings(about: "services.app.depends_on.init").first?.message.contains("Job") == true)
        #expect(try state.service("init").restart == .never)
        #expect(try state.service("db").restart == .always)
        #expect(translation.warnings(about: "services.init").first?.message.contains("runs once") == true)
    }

    @Test func replicasThatWouldShareAHostPortBecomeOne() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              web:
                image: nginx:1.27
                ports: [{target: 80, published: "8080", protocol: tcp}]
                deploy: {replicas: 3}
            """
        )
        #expect(try state.service("web").replicas == 1)
        let warning = try #require(translation.warnings(about: "services.web.deploy.replicas").first)
        #expect(warning.location?.line == 5)
    }

    @Test func disabledHealthcheckIsAWarning() throws {
        let (state, translation) = try TranslationFixture.state(
            "services:\n  app:\n    image: busybox\n    healthcheck:\n      disable: true\n"
        )
        #expect(try state.service("app").healthcheck == nil)
        #expect(translation.warnings(about: "services.app.healthcheck").first?.location?.line == 4)
    }

    @Test func unknownTopLevelFieldsAreWarnedAndLoaderWarningsComeFirst() throws {
        var project = try TranslationFixture.project("services:\n  app:\n    image: busybox\nfoo: {}\n")
        let loaderWarning = ComposeWarning(location: nil, field: "services.app.environment.X", message: "X is not set; read as empty")
        project.warnings = [loaderWarning]
        let translation = ComposeTranslator.translate(project)
        #expect(translation.warnings.first == loaderWarning)
        #expect(translation.warnings(about: "foo").first?.location?.line == 4)
    }

    @Test func namedVolumesAndExternalVolumesSayWhereTheDataIs() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              db:
                image: postgres:16
                volumes:
                  - {type: volume, source: data, target: /data}
                  - {type: volume, source: legacy, target: /legacy}
            volumes:
              data:
                name: shopdata
              legacy:
                external: true
            """
        )
        #expect(state.ids(.volume) == ["data", "legacy"])
        #expect(translation.warnings(about: "volumes.data").first?.message.contains("shopdata") == true)
        #expect(translation.warnings(about: "volumes.legacy").first?.message.contains("no external volumes") == true)
    }
}
