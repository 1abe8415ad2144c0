import BerthCompose
import BerthCore
import BerthManifests
import Testing

@Suite("Compose translation of service fields")
struct TranslationFieldTests {
    @Test func translatesTheContainerFields() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              web:
                image: example/web:1.4
                command: ["gunicorn", "app.wsgi", "--bind", "0.0.0.0:8000"]
                entrypoint: ["/entrypoint.sh"]
                working_dir: /app
                user: "1000:1000"
                environment:
                  DEBUG: "0"
                  GREETING: "it's \\"quoted\\": #1"
                labels:
                  tier: web
                stop_signal: SIGQUIT
                stop_grace_period: 1m30s
                init: true
                pull_policy: always
            """
        )
        let web = try state.service("web")
        #expect(web.container.image.description == "example/web:1.4")
        #expect(web.container.command == ["gunicorn", "app.wsgi", "--bind", "0.0.0.0:8000"])
        #expect(web.container.entrypoint == ["/entrypoint.sh"])
        #expect(web.container.workingDir == "/app")
        #expect(web.container.user == "1000:1000")
        #expect(web.container.env == ["DEBUG": .literal("0"), "GREETING": .literal("it's \"quoted\": #1")])
        #expect(web.container.labels == ["tier": "web"])
        #expect(web.container.stopSignal.description == "SIGQUIT")
        #expect(web.container.stopGracePeriod == .seconds(90))
        #expect(web.container.`init`)
        #expect(web.container.pullPolicy == .always)
        #expect(translation.warnings.isEmpty)
    }

    @Test func commentsEachFieldWithItsComposeFileLineAndColumn() throws {
        let translation = try TranslationFixture.translate(
            """
            services:
              web:
                image: nginx:1.27
                ports: [{target: 80, published: "8080", protocol: tcp}]
            """
        )
        let text = try #require(translation.files["web.yaml"])
        #expect(text.contains("# Service web from compose.yaml:2:3 services.web\n"))
        #expect(text.contains("image: nginx:1.27  # compose.yaml:3:5 services.web.image"))
        #expect(text.contains("ports:  # compose.yaml:4:5 services.web.ports"))
    }

    @Test func translatesPortsEnvironmentWithoutValueAndReplicas() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              api:
                image: example/api:2
                environment:
                  TOKEN: null
                ports:
                  - {target: 80, published: "8080", protocol: tcp, mode: ingress}
                  - {target: 53, published: "5353", host_ip: 127.0.0.1, protocol: udp}
                  - {target: 9000, host_ip: "::1", protocol: tcp}
                  - {target: 9100, protocol: tcp}
                deploy:
                  replicas: 1
            """
        )
        let api = try state.service("api")
        #expect(api.ports.map(\.description) == ["8080:80/tcp", "127.0.0.1:5353:53/udp", "[::1]::9000/tcp", "9100/tcp"])
        #expect(api.container.env["TOKEN"] == .fromEnv("TOKEN"))
        #expect(api.replicas == 1)
        let warning = try #require(translation.warnings(about: "services.api.environment.TOKEN").first)
        #expect(warning.location?.line == 5)
        #expect(warning.message.contains("fromEnv"))
    }

    @Test func translatesVolumesBindsAndTmpfsAndDeclaresNamedVolumesRetained() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              db:
                image: postgres:16
                volumes:
                  - {type: volume, source: db_data, target: /var/lib/postgresql/data}
                  - {type: bind, source: /srv/shop/init, target: /docker-entrypoint-initdb.d, read_only: true, bind: {create_host_path: true}}
                  - {type: tmpfs, target: /run/cache, tmpfs: {size: 1048576}}
                  - {type: volume, target: /scratch}
                tmpfs: [/tmp]
            volumes:
              db_data: {}
            """
        )
        let db = try state.service("db")
        #expect(
            db.container.volumes.map(\.description) == [
                "db-data:/var/lib/postgresql/data", "/srv/shop/init:/docker-entrypoint-initdb.d:ro", "db-scratch:/scratch",
            ])
        #expect(db.container.options.tmpfs.map(\.description) == ["/run/cache:size=1048576", "/tmp"])
        #expect(state.ids(.volume) == ["db-data", "db-scratch"])
        for volume in state.resources where volume.kind == .volume {
            guard case .volume(let spec) = volume.spec else { continue }
            #expect(spec.reclaimPolicy == .retain)
        }
        #expect(!translation.warnings(about: "volumes.db_data").isEmpty) // the data stays in shop_db_data
        #expect(!translation.warnings(about: "services.db.volumes[3]").isEmpty) // anonymous → named
        #expect(translation.warnings(about: "volumes.db_data").contains { $0.message.contains("shop_db_data") })
    }

    @Test func translatesHealthcheckRestartAndDependsOn() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              db:
                image: postgres:16
                restart: unless-stopped
                healthcheck:
                  test: ["CMD-SHELL", "pg_isready -U postgres"]
                  interval: 10s
                  timeout: 3s
                  retries: 5
                  start_period: 30s
              cache:
                image: redis:7
                restart: "no"
                healthcheck:
                  test: ["CMD", "redis-cli", "ping"]
              app:
                image: example/app:1
                restart: on-failure:3
                depends_on:
                  db: {condition: service_healthy, required: true}
                  cache: {condition: service_started, required: true}
            """
        )
        let db = try state.service("db")
        let check = try #require(db.healthcheck)
        #expect(check.command == ["/bin/sh", "-c", "pg_isready -U postgres"])
        #expect(check.interval == .seconds(10))
        #expect(check.timeout == .seconds(3))
        #expect(check.retries == 5)
        #expect(check.startPeriod == .seconds(30))
        #expect(db.restart == .always)
        let cache = try state.service("cache")
        #expect(cache.healthcheck?.command == ["redis-cli", "ping"])
        #expect(cache.restart == .never)
        let app = try state.service("app")
        #expect(app.restart == .onFailure)
        #expect(app.dependsOn == [Dependency(name: "db", condition: .healthy), Dependency(name: "cache", condition: .started)])
        let count = try #require(translation.warnings(about: "services.app.restart").first)
        #expect(count.message.contains("on-failure:3"))
    }

    @Test func translatesResourcesFromDeployAndServiceFields() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              worker:
                image: example/worker:3
                shm_size: 256m
                deploy:
                  replicas: 3
                  restart_policy: {condition: on-failure, max_attempts: 4}
                  update_config: {order: stop-first, parallelism: 2}
                  resources:
                    limits: {cpus: "1.5", memory: 512M, pids: 200}
                    reservations: {memory: 128M}
            """
        )
        let worker = try state.service("worker")
        #expect(worker.replicas == 3)
        #expect(worker.restart == .onFailure)
        #expect(worker.updateOrder == .stopFirst)
        #expect(worker.container.resources?.memory == ByteSize(bytes: 512 * 1024 * 1024))
        #expect(worker.container.resources?.cpus?.description == "1.5")
        #expect(worker.container.options.pidsLimit == 200)
        #expect(worker.container.options.shmSize == ByteSize(bytes: 256 * 1024 * 1024))
        for field in ["restart_policy.max_attempts", "update_config.parallelism", "resources.reservations"] {
            #expect(!translation.warnings(about: "services.worker.deploy.\(field)").isEmpty, "\(field)")
        }
    }

    @Test func translatesNetworksWithAliasesAndFixedAddresses() throws {
        let (state, _) = try TranslationFixture.state(
            """
            services:
              app:
                image: example/app:1
                networks:
                  front: null
                  back: {aliases: [api], ipv4_address: 10.20.0.5}
              proxy:
                image: nginx:1.27
              tool:
                image: example/tool:1
                network_mode: host
            networks:
              front: {}
              back:
                internal: true
                labels: {team: shop}
                ipam: {driver: default, config: [{subnet: 10.20.0.0/24, gateway: 10.20.0.1}]}
              outside:
                external: true
                name: proxy_net
            """
        )
        let app = try state.service("app")
        #expect(
            app.container.networks == [
                NetworkAttachment(name: "front"), NetworkAttachment(name: "back", aliases: ["api"], ipv4Address: "10.20.0.5"),
            ])
        #expect(try state.service("proxy").container.networks == [NetworkAttachment(name: "default")])
        #expect(try state.service("tool").container.network == .host)
        let back = try #require(state.resources.first { $0.id == ResourceID(kind: .network, project: "shop", name: "back") })
        guard case .network(let spec) = back.spec else { throw TranslationTestError.wrongKind }
        #expect(spec.internal)
        #expect(spec.ipam == NetworkSpec.IPAM(subnet: "10.20.0.0/24", gateway: "10.20.0.1"))
        #expect(spec.labels == ["team": "shop"])
        let outside = try #require(state.resources.first { $0.id == ResourceID(kind: .network, project: "shop", name: "outside") })
        guard case .network(let external) = outside.spec else { throw TranslationTestError.wrongKind }
        #expect(external.external && external.networkName == "proxy_net")
    }

    @Test func translatesTheContainerOptions() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              db:
                image: postgis/postgis:16-3.4
                hostname: db-host
                tty: true
                stdin_open: true
                read_only: true
                pids_limit: 100
                logging: {driver: json-file, options: {max-size: 10m, max-file: "3"}}
                ulimits:
                  nofile: {soft: 1024, hard: 2048}
                  nproc: {soft: 512, hard: 512}
                cap_add: [NET_ADMIN]
                cap_drop: [ALL]
                extra_hosts: {minio.local: 10.0.0.5}
                sysctls: {net.core.somaxconn: "1024"}
                dns: [1.1.1.1]
                dns_search: [example.org]
                devices: ["/dev/fuse:/dev/fuse:rwm"]
                security_opt: ["no-new-privileges:true"]
            """
        )
        let options = try state.service("db").container.options
        #expect(options.hostname == "db-host")
        #expect(options.tty && options.stdinOpen && options.readOnlyRootFilesystem)
        #expect(options.pidsLimit == 100)
        #expect(options.logging == LoggingSpec(driver: "json-file", options: ["max-size": "10m", "max-file": "3"]))
        #expect(options.ulimits == ["nofile": Ulimit(soft: 1024, hard: 2048), "nproc": Ulimit(512)])
        #expect(options.capAdd.map(\.description) == ["NET_ADMIN"])
        #expect(options.capDrop == [.all])
        #expect(options.extraHosts.map(\.description) == ["minio.local:10.0.0.5"])
        #expect(options.sysctls == ["net.core.somaxconn": "1024"])
        #expect(options.dns == ["1.1.1.1"])
        #expect(options.dnsSearch == ["example.org"])
        #expect(options.devices.map(\.description) == ["/dev/fuse:/dev/fuse:rwm"])
        #expect(options.securityOpt.map(\.description) == ["no-new-privileges=true"])
        #expect(translation.warnings.isEmpty)
    }

    @Test func mountsFileSecretsAndConfigsReadOnly() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              app:
                image: example/app:1
                secrets:
                  - {source: db_password}
                  - {source: api_key, target: /etc/app/key, mode: 0400}
                configs:
                  - {source: app_conf, target: /etc/app/app.conf}
                  - {source: motd}
            secrets:
              db_password: {file: /srv/shop/secrets/db_password.txt}
              api_key: {file: /srv/shop/secrets/api_key}
            configs:
              app_conf: {file: /srv/shop/app.conf}
              motd: {file: /srv/shop/motd}
            """
        )
        #expect(
            try state.service("app").container.volumes.map(\.description) == [
                "/srv/shop/secrets/db_password.txt:/run/secrets/db_password:ro", "/srv/shop/secrets/api_key:/etc/app/key:ro",
                "/srv/shop/app.conf:/etc/app/app.conf:ro", "/srv/shop/motd:/motd:ro",
            ])
        #expect(!translation.warnings(about: "services.app.secrets[1].mode").isEmpty)
        let project = try #require(translation.files[ComposeTranslator.projectFileName])
        #expect(project.contains("secret db_password: file /srv/shop/secrets/db_password.txt, mounted read-only by app"))
    }

    @Test(arguments: [("no", RestartPolicy.never), ("always", .always), ("unless-stopped", .always), ("on-failure", .onFailure)])
    func translatesRestartPolicies(compose: String, berth: RestartPolicy) throws {
        let (state, _) = try TranslationFixture.state("services:\n  app:\n    image: busybox\n    restart: \"\(compose)\"\n")
        #expect(try state.service("app").restart == berth)
    }

    @Test func mapsNamesBerthRefusesDeterministically() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              Web_App:
                image: busybox
                depends_on:
                  web.app: {condition: service_started}
              web.app:
                image: busybox
            """
        )
        #expect(state.ids(.service) == ["web-app", "web-app-2"])
        #expect(try state.service("web-app").dependsOn == [Dependency(name: "web-app-2")])
        #expect(translation.files.keys.sorted() == [ComposeTranslator.projectFileName, "web-app-2.yaml", "web-app.yaml"])
        let renamed = try #require(translation.warnings(about: "services.web.app").first)
        #expect(renamed.message.contains("\"web-app-2\""))
        #expect(renamed.location?.line == 6)
        #expect(!translation.warnings(about: "services.Web_App").isEmpty)
    }
}
