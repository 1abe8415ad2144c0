import BerthCompose
import BerthCore
import BerthManifests
import Testing

@Suite("Compose translation of whole stacks")
struct TranslationStackTests {
    /// nginx → app → db on two networks, a health check the app waits for, a named volume and a
    /// secret file: every file reads back valid, and every warning names a compose field.
    @Test func webAppStackReadsBackValid() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            name: shop
            services:
              proxy:
                image: nginx:1.27
                ports:
                  - {target: 80, published: "8080", protocol: tcp, mode: ingress}
                volumes:
                  - {type: bind, source: /srv/shop/nginx.conf, target: /etc/nginx/conf.d/default.conf, read_only: true}
                depends_on:
                  app: {condition: service_started, required: true}
                networks:
                  front: null
                restart: always
                logging: {driver: json-file, options: {max-size: 10m, max-file: "3"}}
              app:
                image: example/shop:1.4
                command: ["gunicorn", "shop.wsgi", "--bind", "0.0.0.0:8000"]
                environment:
                  DATABASE_HOST: db
                  DATABASE_PASSWORD_FILE: /run/secrets/db_password
                secrets:
                  - {source: db_password}
                depends_on:
                  db: {condition: service_healthy, required: true}
                networks:
                  front: {aliases: [shop-app]}
                  back: null
                deploy:
                  replicas: 2
                  resources:
                    limits: {cpus: "1", memory: 512M}
                healthcheck:
                  test: ["CMD", "wget", "-qO-", "http://127.0.0.1:8000/health"]
                  interval: 10s
                restart: unless-stopped
              db:
                image: postgres:16
                environment:
                  POSTGRES_PASSWORD_FILE: /run/secrets/db_password
                secrets:
                  - {source: db_password}
                volumes:
                  - {type: volume, source: db_data, target: /var/lib/postgresql/data}
                networks:
                  back: null
                healthcheck:
                  test: ["CMD-SHELL", "pg_isready -U postgres"]
                  interval: 5s
                  timeout: 3s
                  retries: 10
                shm_size: 256m
                stop_grace_period: 1m
                restart: unless-stopped
            networks:
              front: {}
              back: {internal: true}
            volumes:
              db_data: {}
            secrets:
              db_password: {file: /srv/shop/secrets/db_password.txt}
            x-shared: {note: ignored}
            """
        )
        #expect(state.ids(.service) == ["app", "db", "proxy"])
        #expect(state.ids(.network) == ["back", "front"])
        #expect(state.ids(.volume) == ["db-data"])
        #expect(state.ids(.project) == ["shop"])
        let app = try state.service("app")
        #expect(app.dependsOn == [Dependency(name: "db", condition: .healthy)])
        #expect(app.replicas == 2)
        #expect(app.container.networks.map(\.name) == ["front", "back"])
        #expect(app.container.volumes.map(\.description) == ["/srv/shop/secrets/db_password.txt:/run/secrets/db_password:ro"])
        #expect(try state.service("db").effectiveUpdateOrder == .stopFirst)
        #expect(translation.files.keys.sorted() == [ComposeTranslator.projectFileName, "app.yaml", "db.yaml", "proxy.yaml"])
        // The only warnings: the volume's name has a "_", and its data is in compose's engine volume.
        #expect(translation.warnings.map(\.field) == ["volumes.db_data", "volumes.db_data"])
        #expect(translation.warnings.map(\.message).contains { $0.contains("shop_db_data") })
        for warning in translation.warnings {
            #expect(warning.location?.file == TranslationFixture.file)
        }
    }

    /// A worker stack with the companions compose users run: ofelia, autoheal, a built image,
    /// memcached, and the options compose files set; it still reads back valid.
    @Test func workerStackWithCompanionsReadsBackValid() throws {
        let (state, translation) = try TranslationFixture.state(
            """
            services:
              app:
                build: {context: /srv/qfield/app}
                environment: {DEBUG: "0", SECRET_KEY: null}
                labels:
                  autoheal: "true"
                  ofelia.enabled: "true"
                  ofelia.job-exec.runcrons.schedule: "@every 1m"
                  ofelia.job-exec.runcrons.command: "python manage.py runcrons"
                  ofelia.job-exec.runcrons.no-overlap: "true"
                healthcheck: {test: ["CMD-SHELL", "curl -f http://localhost:8000/ || exit 1"], interval: 30s, start_period: 1m}
                depends_on:
                  memcached: {condition: service_started}
                logging: {driver: json-file, options: {max-size: 100m, max-file: "5"}}
                ulimits: {nofile: {soft: 10000, hard: 10000}}
                extra_hosts: {host.docker.internal: host-gateway}
              worker:
                build: {context: /srv/qfield/app}
                image: qfield/worker:dev
                command: ["python", "manage.py", "dequeue"]
                deploy: {replicas: 3}
                tmpfs: [/tmp]
                cap_drop: [ALL]
                depends_on:
                  app: {condition: service_healthy}
              memcached:
                image: memcached:1.6
                command: ["memcached", "-m", "128"]
              ofelia:
                image: mcuadros/ofelia:v0.3.7
                command: ["daemon", "--docker"]
                depends_on:
                  app: {condition: service_started}
              autoheal:
                image: willfarrell/autoheal:latest
                restart: always
            """,
            name: "qfield"
        )
        #expect(state.ids(.service) == ["app", "memcached", "worker"])
        #expect(state.ids(.cronJob) == ["app-runcrons"])
        let app = try state.service("app", project: "qfield")
        #expect(app.container.image.description == "qfield-app")
        #expect(app.container.env["SECRET_KEY"] == .fromEnv("SECRET_KEY"))
        #expect(try state.service("worker", project: "qfield").dependsOn == [Dependency(name: "app", condition: .healthy)])
        let fields = Set(translation.warnings.map(\.field))
        #expect(
            fields == [
                "services.app.build", "services.app.environment.SECRET_KEY", "services.worker.build", "services.ofelia",
                "services.autoheal",
            ])
    }
}
