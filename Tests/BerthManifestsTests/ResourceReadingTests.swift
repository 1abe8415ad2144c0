import BerthCore
import BerthManifests
import Foundation
import Testing

/// Reads `yaml` as the file `file`, expecting it to be valid.
func read(_ yaml: String, file: String = "app.yaml") throws -> [Resource] {
    try Manifests.resources(yaml: yaml, file: file)
}

/// Reads the single resource of `yaml`.
private func readOne(_ yaml: String) throws -> Resource {
    let resources = try read(yaml)
    try #require(resources.count == 1, "expected one resource, read \(resources.count)")
    return resources[0]
}

/// The problems `yaml` is rejected with, or an empty list when it reads.
func readingIssues(_ yaml: String, file: String = "bad.yaml") -> [ValidationIssue] {
    do {
        _ = try Manifests.resources(yaml: yaml, file: file)
        return []
    } catch {
        return error.issues
    }
}

@Suite("Reading resources from manifests")
struct ResourceReadingTests {
    // MARK: Defaults, one kind at a time

    @Test func readsAProjectWithoutSpecWithDefaultLimits() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Project
            metadata:
              name: shop
            """
        // when
        let resource = try readOne(yaml)
        // then
        #expect(resource.id == ResourceID(kind: .project, project: "default", name: "shop"))
        #expect(resource.metadata.labels == [:])
        #expect(resource.spec == .project(ProjectSpec(maxConcurrentJobs: nil, exclusiveJobs: false, defaultResources: nil)))
        #expect(resource.location == BerthCore.SourceLocation(file: "app.yaml", line: 1, column: 1))
    }

    @Test func readsEveryFieldOfAProject() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Project
            metadata: {name: shop, labels: {team: web}}
            spec:
              maxConcurrentJobs: 4
              exclusiveJobs: true
              defaultResources: {memory: 512Mi, cpus: 1.5}
            """
        // when
        let resource = try readOne(yaml)
        // then
        guard case .project(let spec) = resource.spec else {
            Issue.record("expected a Project, read \(resource.kind)")
            return
        }
        #expect(resource.metadata.labels == ["team": "web"])
        #expect(spec.maxConcurrentJobs == 4)
        #expect(spec.exclusiveJobs)
        #expect(spec.defaultResources == ResourceLimits(memory: ByteSize(bytes: 512 << 20), cpus: CPUQuantity(millicores: 1500)))
    }

    @Test func readsAVolumeWithDefaults() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Volume
            metadata: {name: data, project: shop}
            spec: {}
            """
        // when
        let resource = try readOne(yaml)
        // then
        #expect(resource.id == ResourceID(kind: .volume, project: "shop", name: "data"))
        guard case .volume(let spec) = resource.spec else {
            Issue.record("expected a Volume, read \(resource.kind)")
            return
        }
        #expect(spec.driver == "local")
        #expect(spec.options == [:])
        #expect(spec.labels == [:])
        #expect(spec.reclaimPolicy == .retain)
    }

    @Test func readsEveryFieldOfAVolume() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Volume
            metadata: {name: data, project: shop}
            spec:
              driver: nfs
              options: {type: nfs, o: "addr=10.0.0.1"}
              labels: {backup: nightly}
              reclaimPolicy: Delete
            """
        // when
        let resource = try readOne(yaml)
        // then
        #expect(resource.spec == .volume(VolumeSpec(
            driver: "nfs", options: ["type": "nfs", "o": "addr=10.0.0.1"], labels: ["backup": "nightly"], reclaimPolicy: .delete
        )))
    }

    @Test func readsAServiceWithTheDocumentedDefaults() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Service
            metadata: {name: app}
            spec:
              image: example/app:1.4
            """
        // when
        let resource = try readOne(yaml)
        // then
        #expect(resource.id == ResourceID(kind: .service, project: "default", name: "app"))
        guard case .service(let spec) = resource.spec else {
            Issue.record("expected a Service, read \(resource.kind)")
            return
        }
        #expect(spec.replicas == 1)
        #expect(spec.restart == .always)
        #expect(spec.ports.isEmpty)
        #expect(spec.healthcheck == nil)
        #expect(spec.dependsOn.isEmpty)
        #expect(spec.updateOrder == nil)
        #expect(spec.effectiveUpdateOrder == .startFirst)
        #expect(spec.container.image.description == "example/app:1.4")
        #expect(spec.container.command == nil)
        #expect(spec.container.entrypoint == nil)
        #expect(spec.container.env.isEmpty)
        #expect(spec.container.network == .project)
        #expect(spec.container.networks == [NetworkAttachment(name: "default")])
        #expect(spec.container.stopGracePeriod == .seconds(10))
        #expect(spec.container.stopSignal == .sigterm)
        #expect(spec.container.pullPolicy == .ifNotPresent)
        #expect(spec.container.resources == nil)
        #expect(spec.container.`init` == false)
        #expect(spec.container.noNewPrivileges == false)
    }

    @Test func readsEveryFieldOfAService() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Service
            metadata: {name: app, project: shop}
            spec:
              image: example/app:1.4
              command: gunicorn app.wsgi
              entrypoint: ["/entry.sh"]
              workingDir: /srv/app
              user: "1000:1000"
              env:
                DEBUG: 0
                SECRET_KEY: {fromFile: /run/secrets/app_key}
                DATABASE_URL: {fromEnv: SHOP_DATABASE_URL}
              labels: {tier: web}
              volumes: ["static:/static", "/srv/config:/config:ro"]
              network: backend
              resources: {memory: 1Gi, cpus: 500m}
              stopSignal: quit
              stopGracePeriod: 30s
              pullPolicy: Always
              init: true
              noNewPrivileges: true
              replicas: 2
              ports: ["8000", "127.0.0.1::9000/udp"]
              healthcheck:
                command: ["wget", "-qO-", "http://127.0.0.1:8000/health"]
                interval: 10s
              restart: on-failure
              dependsOn: [cache, {name: db, condition: healthy}]
              updateOrder: stop-first
            """
        // when
        let resource = try readOne(yaml)
        // then
        guard case .service(let spec) = resource.spec else {
            Issue.record("expected a Service, read \(resource.kind)")
            return
        }
        let container = spec.container
        #expect(container.command == ["/bin/sh", "-c", "gunicorn app.wsgi"])
        #expect(container.entrypoint == ["/entry.sh"])
        #expect(container.workingDir == "/srv/app")
        #expect(container.user == "1000:1000")
        #expect(container.env == [
            "DEBUG": .literal("0"),
            "SECRET_KEY": .fromFile("/run/secrets/app_key"),
            "DATABASE_URL": .fromEnv("SHOP_DATABASE_URL"),
        ])
        #expect(container.labels == ["tier": "web"])
        #expect(container.volumes.map(\.description) == ["static:/static", "/srv/config:/config:ro"])
        #expect(container.network == .project)
        #expect(container.networks == [NetworkAttachment(name: "backend")])
        #expect(container.resources == ResourceLimits(memory: ByteSize(bytes: 1 << 30), cpus: CPUQuantity(millicores: 500)))
        #expect(container.stopSignal.description == "SIGQUIT")
        #expect(container.stopGracePeriod == .seconds(30))
        #expect(container.pullPolicy == .always)
        #expect(container.`init`)
        #expect(container.noNewPrivileges)
        #expect(spec.replicas == 2)
        #expect(spec.ports.map(\.description) == ["8000/tcp", "127.0.0.1::9000/udp"])
        #expect(spec.healthcheck == HealthcheckSpec(
            command: ["wget", "-qO-", "http://127.0.0.1:8000/health"],
            interval: .seconds(10), timeout: .seconds(30), retries: 3, startPeriod: .seconds(0)
        ))
        #expect(spec.restart == .onFailure)
        #expect(spec.dependsOn == [Dependency(name: "cache", condition: .started), Dependency(name: "db", condition: .healthy)])
        #expect(spec.updateOrder == .stopFirst)
    }

    @Test func readsAJobWithTheDocumentedDefaults() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Job
            metadata: {name: export}
            spec:
              image: example/worker:3
            """
        // when
        let resource = try readOne(yaml)
        // then
        guard case .job(let spec) = resource.spec else {
            Issue.record("expected a Job, read \(resource.kind)")
            return
        }
        #expect(spec.backoffLimit == 0)
        #expect(spec.priority == 0)
        #expect(spec.activeDeadline == nil)
        #expect(spec.ttlAfterFinished == nil)
        #expect(spec.feedbackPath == nil)
        #expect(spec.nonRetryableExitCodes.isEmpty)
        #expect(spec.container.network == .project)
        #expect(spec.container.networks == [NetworkAttachment(name: "default")])
        #expect(spec.container.stopGracePeriod == .seconds(10))
        #expect(spec.container.pullPolicy == .ifNotPresent)
    }

    @Test func readsEveryFieldOfAJob() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Job
            metadata: {name: export}
            spec:
              image: example/worker:3
              network: none
              activeDeadline: 10m
              backoffLimit: 2
              priority: -5
              feedbackPath: /io/feedback.json
              ttlAfterFinished: 1h
              nonRetryableExitCodes: [2, 64]
            """
        // when
        let resource = try readOne(yaml)
        // then
        guard case .job(let spec) = resource.spec else {
            Issue.record("expected a Job, read \(resource.kind)")
            return
        }
        #expect(spec.container.network == NetworkMode.none)
        #expect(spec.activeDeadline == .minutes(10))
        #expect(spec.backoffLimit == 2)
        #expect(spec.priority == -5)
        #expect(spec.feedbackPath == "/io/feedback.json")
        #expect(spec.ttlAfterFinished == .hours(1))
        #expect(spec.nonRetryableExitCodes == [2, 64])
    }

    @Test func readsACronJobWithTheDocumentedDefaults() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: CronJob
            metadata: {name: tidy}
            spec:
              schedule: "@every 10m"
              jobTemplate:
                image: example/worker:3
            """
        // when
        let resource = try readOne(yaml)
        // then
        guard case .cronJob(let spec) = resource.spec else {
            Issue.record("expected a CronJob, read \(resource.kind)")
            return
        }
        #expect(spec.schedule.description == "@every 10m")
        #expect(spec.timeZone == .utc)
        #expect(spec.concurrencyPolicy == .forbid)
        #expect(spec.successfulJobsHistoryLimit == 3)
        #expect(spec.failedJobsHistoryLimit == 1)
        #expect(spec.suspend == false)
        #expect(spec.startingDeadline == nil)
        #expect(spec.jobTemplate.backoffLimit == 0)
        #expect(spec.jobTemplate.container.pullPolicy == .ifNotPresent)
    }

    @Test func readsEveryFieldOfACronJob() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: CronJob
            metadata: {name: backup}
            spec:
              schedule: "30 2 * * *"
              timeZone: Europe/Zurich
              concurrencyPolicy: Replace
              startingDeadline: 5m
              suspend: true
              successfulJobsHistoryLimit: 10
              failedJobsHistoryLimit: 0
              jobTemplate:
                image: example/backup:1
                backoffLimit: 3
            """
        // when
        let resource = try readOne(yaml)
        // then
        guard case .cronJob(let spec) = resource.spec else {
            Issue.record("expected a CronJob, read \(resource.kind)")
            return
        }
        #expect(spec.schedule == (try CronSchedule(parsing: "30 2 * * *")))
        #expect(spec.timeZone.identifier == "Europe/Zurich")
        #expect(spec.timeZone.timeZone.identifier == "Europe/Zurich")
        #expect(spec.concurrencyPolicy == .replace)
        #expect(spec.startingDeadline == .minutes(5))
        #expect(spec.suspend)
        #expect(spec.successfulJobsHistoryLimit == 10)
        #expect(spec.failedJobsHistoryLimit == 0)
        #expect(spec.jobTemplate.backoffLimit == 3)
        #expect(spec.jobTemplate.container.image.description == "example/backup:1")
    }

    @Test func readsABucketNamedAfterItsProjectAndName() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Bucket
            metadata: {name: files, project: qfield}
            spec: {}
            """
        // when
        let resource = try readOne(yaml)
        // then
        #expect(resource.spec == .bucket(BucketSpec(
            bucketName: "qfield-files", versioning: false, lifecycle: nil, tags: [:], reclaimPolicy: .retain
        )))
    }

    @Test func readsEveryFieldOfABucket() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Bucket
            metadata: {name: files, project: qfield}
            spec:
              bucketName: qfield.files-eu
              versioning: true
              lifecycle: {expireDays: 7, noncurrentExpireDays: 30, abortIncompleteUploadsDays: 2}
              tags: {owner: gis, "app:name": "q field"}
              reclaimPolicy: Delete
              deleteNonEmpty: true
            """
        // when
        let resource = try readOne(yaml)
        // then
        #expect(resource.spec == .bucket(BucketSpec(
            bucketName: "qfield.files-eu", versioning: true,
            lifecycle: BucketSpec.Lifecycle(expireDays: 7, noncurrentExpireDays: 30, abortIncompleteUploadsDays: 2),
            tags: ["owner": "gis", "app:name": "q field"], reclaimPolicy: .delete, deleteNonEmpty: true
        )))
    }

    @Test func anEmptyBucketLifecycleIsNoLifecycle() throws {
        let resource = try readOne("""
            apiVersion: berth/v1
            kind: Bucket
            metadata: {name: files, project: qfield}
            spec: {lifecycle: {}}
            """)
        #expect(resource.spec == .bucket(BucketSpec(bucketName: "qfield-files")))
    }

    @Test func refusesBucketTagsS3WouldRefuseAndDeleteNonEmptyWithoutDelete() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Bucket
            metadata: {name: files, project: qfield}
            spec:
              tags:
                berth.managed: "false"
                team: "a|b"
              deleteNonEmpty: true
            """
        // when
        let issues = readingIssues(yaml)
        // then
        #expect(issues.map(\.path) == ["spec.tags.berth.managed", "spec.tags.team", "spec.deleteNonEmpty"])
        #expect(issues.map(\.location?.line) == [6, 7, 8])
        #expect(issues[0].message == "tag keys starting with \"berth.\" are reserved, found \"berth.managed\"")
        #expect(issues[1].message.contains("letters, digits, spaces and _ . : / = + - @"))
        #expect(issues[2].message == "deleteNonEmpty applies only with reclaimPolicy Delete")
    }

    @Test func readsACertificateWithTheDocumentedDefaults() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Certificate
            metadata: {name: web}
            spec:
              dnsNames: [App.Example.org, www.example.org]
              target: {volume: certs}
            """
        // when
        let resource = try readOne(yaml)
        // then
        guard case .certificate(let spec) = resource.spec else {
            Issue.record("expected a Certificate, read \(resource.kind)")
            return
        }
        #expect(spec.commonName == "app.example.org")
        #expect(spec.dnsNames == ["app.example.org", "www.example.org"])
        #expect(spec.ipAddresses.isEmpty)
        #expect(spec.duration == .days(90))
        #expect(spec.renewBefore == .days(30))
        #expect(spec.issuer == .selfSigned)
        #expect(spec.keyAlgorithm == .ecdsaP256)
        #expect(spec.target == .volume(name: "certs", path: "."))
        #expect(spec.reload.isEmpty)
    }

    @Test func readsEveryFieldOfACertificate() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Certificate
            metadata: {name: web}
            spec:
              commonName: Berth test
              dnsNames: ["*.example.org"]
              ipAddresses: [127.0.0.1, "::1"]
              issuer: localCA
              keyAlgorithm: RSA-2048
              duration: 30d
              renewBefore: 10d
              target: {hostPath: /etc/berth/certs}
              reload: [{service: proxy}, {service: app, signal: USR1}]
            """
        // when
        let resource = try readOne(yaml)
        // then
        #expect(resource.spec == .certificate(CertificateSpec(
            commonName: "Berth test", dnsNames: ["*.example.org"], ipAddresses: ["127.0.0.1", "::1"],
            issuer: .localCA, keyAlgorithm: .rsa2048, duration: .days(30), renewBefore: .days(10),
            target: .hostPath("/etc/berth/certs"),
            reload: [
                CertificateSpec.Reload(service: "proxy", signal: .defaultReload),
                CertificateSpec.Reload(service: "app", signal: try StopSignal(parsing: "SIGUSR1")),
            ]
        )))
    }

    @Test func readsEveryDocumentOfAStreamWithItsStartingLine() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Volume
            metadata: {name: data}
            spec: {}
            ---
            # the service
            apiVersion: berth/v1
            kind: Service
            metadata: {name: app}
            spec: {image: nginx}
            """
        // when
        let resources = try read(yaml, file: "stack.yaml")
        // then
        #expect(resources.map(\.id.description) == ["Volume default/data", "Service default/app"])
        #expect(resources.map(\.location?.line) == [1, 7])
        #expect(resources.allSatisfy { $0.location?.file == "stack.yaml" })
    }

    @Test func rendersYAMLThatReadsBackToTheSameResources() throws {
        // given: every kind, with fields away from their defaults
        let yaml = """
            apiVersion: berth/v1
            kind: Project
            metadata: {name: shop}
            spec: {maxConcurrentJobs: 2, exclusiveJobs: true, defaultResources: {memory: 128Mi}}
            ---
            apiVersion: berth/v1
            kind: Volume
            metadata: {name: data, project: shop, labels: {team: ops}}
            spec: {driver: local, options: {type: tmpfs}, labels: {backup: "no"}, reclaimPolicy: Delete}
            ---
            apiVersion: berth/v1
            kind: Network
            metadata: {name: backend, project: shop}
            spec: {internal: true, enableIPv6: true, ipam: {subnet: 10.20.0.0/24, gateway: 10.20.0.1}, options: {mtu: "1400"}, reclaimPolicy: Retain}
            ---
            apiVersion: berth/v1
            kind: Service
            metadata: {name: app, project: shop}
            spec:
              image: example/app:1.4
              networks: [default, {name: backend, aliases: [api, app.internal], ipv4Address: 10.20.0.9}]
              command: run server
              env: {A: "1", B: {fromEnv: SHOP_B}, C: {fromFile: /run/c}}
              volumes: ["data:/data:ro"]
              ports: ["127.0.0.1:8080:80", "[::1]::53/udp"]
              healthcheck: {command: [true], retries: 5}
              dependsOn: [{name: db, condition: healthy}]
              stopSignal: 3
              replicas: 0
              updateOrder: start-first
            ---
            apiVersion: berth/v1
            kind: Job
            metadata: {name: export, project: shop}
            spec: {image: busybox, activeDeadline: 90s, ttlAfterFinished: 0s, nonRetryableExitCodes: [3], priority: 7}
            ---
            apiVersion: berth/v1
            kind: CronJob
            metadata: {name: tidy, project: shop}
            spec:
              schedule: "0 9-17/2 * * mon-fri"
              timeZone: America/New_York
              concurrencyPolicy: Allow
              startingDeadline: 2m
              suspend: true
              jobTemplate: {image: busybox, backoffLimit: 4}
            ---
            apiVersion: berth/v1
            kind: Bucket
            metadata: {name: files, project: shop}
            spec: {versioning: true, lifecycle: {expireDays: 7}, tags: {owner: gis}, reclaimPolicy: Delete}
            ---
            apiVersion: berth/v1
            kind: Certificate
            metadata: {name: web, project: shop}
            spec:
              ipAddresses: ["::1"]
              issuer: localCA
              keyAlgorithm: ECDSA-P384
              duration: 1000h
              target: {volume: data, path: tls}
              reload: [{service: app, signal: SIGUSR2}]
            """
        let original = try read(yaml).map(\.withoutLocation)
        // when
        let rendered = try ManifestRenderer.yaml(original)
        let reread = try read(rendered, file: "rendered.yaml").map(\.withoutLocation)
        // then
        #expect(original.map(\.kind) == ResourceKind.allCases)
        #expect(reread == original)
        #expect(try ManifestRenderer.yaml(reread) == rendered)
    }

    // MARK: Problems in one field

    /// A document that is wrong in one place, and the issue expected for it.
    struct BadInput: Sendable, CustomTestStringConvertible {
        var name: String
        var yaml: String
        var path: String
        var line: Int
        var message: [String]

        var testDescription: String { name }

        /// A Service whose one environment variable is `entry` (a line of YAML, line 7).
        static func serviceWithEnv(_ entry: String) -> String {
            "apiVersion: berth/v1\nkind: Service\nmetadata: {name: app}\nspec:\n  image: nginx:1.27\n  env:\n    \(entry)\n"
        }

        static func env(_ name: String, _ entry: String, path: String, message: String) -> BadInput {
            BadInput(name: name, yaml: serviceWithEnv(entry), path: path, line: 7, message: [message])
        }
    }

    static let badInputs: [BadInput] = [
        BadInput(
            name: "misspelt field",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  imgae: nginx:1.27
                """,
            path: "spec.imgae", line: 5, message: [#"unknown field "imgae""#, #"(did you mean "image"?)"#]
        ),
        BadInput(
            name: "wrong type",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  image: nginx:1.27
                  replicas: "two"
                """,
            path: "spec.replicas", line: 6, message: [#"expected an integer, found string "two""#]
        ),
        BadInput(
            name: "missing required field",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  replicas: 2
                """,
            path: "spec.image", line: 5, message: [#"missing required field "image""#]
        ),
        BadInput(
            name: "duration without unit",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  image: nginx:1.27
                  stopGracePeriod: 10
                """,
            path: "spec.stopGracePeriod", line: 6, message: ["expected a duration", "add a unit, such as 10s"]
        ),
        BadInput(
            name: "memory with unknown suffix",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  image: nginx:1.27
                  resources:
                    memory: 12Q
                """,
            path: "spec.resources.memory", line: 7, message: ["expected a size", #"unknown suffix "Q""#]
        ),
        BadInput(
            name: "cron schedule with four fields",
            yaml: """
                apiVersion: berth/v1
                kind: CronJob
                metadata: {name: tidy}
                spec:
                  schedule: "0 3 * *"
                  jobTemplate: {image: busybox}
                """,
            path: "spec.schedule", line: 5, message: ["expected 5 fields", #"found 4 fields in "0 3 * *""#]
        ),
        BadInput(
            name: "unknown time zone",
            yaml: """
                apiVersion: berth/v1
                kind: CronJob
                metadata: {name: tidy}
                spec:
                  schedule: "0 3 * * *"
                  timeZone: Europe/Zurik
                  jobTemplate: {image: busybox}
                """,
            path: "spec.timeZone", line: 6,
            message: [#"expected an IANA time zone such as Europe/Zurich or UTC, found "Europe/Zurik""#, #"(did you mean "Europe/Zurich"?)"#]
        ),
        BadInput(
            name: "time zone abbreviation",
            yaml: """
                apiVersion: berth/v1
                kind: CronJob
                metadata: {name: tidy}
                spec:
                  schedule: "0 3 * * *"
                  jobTemplate: {image: busybox}
                  timeZone: CET
                """,
            path: "spec.timeZone", line: 7, message: [#"found "CET"; write the zone as Area/Location"#]
        ),
        BadInput(
            name: "port out of range",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  image: nginx:1.27
                  ports:
                    - "8080:80"
                    - "8080:70000"
                """,
            path: "spec.ports[1]", line: 8, message: ["expected a port mapping", "70000 is out of range 1-65535"]
        ),
        BadInput(
            name: "relative host path mount",
            yaml: """
                apiVersion: berth/v1
                kind: Job
                metadata: {name: export}
                spec:
                  image: busybox
                  volumes: ["./data:/data"]
                """,
            path: "spec.volumes[0]", line: 6, message: ["expected a mount", #"use an absolute host path such as /srv/app instead of "./data""#]
        ),
        BadInput(
            name: "uppercase name",
            yaml: """
                apiVersion: berth/v1
                kind: Volume
                metadata:
                  name: Data
                """,
            path: "metadata.name", line: 4, message: [#"names are lowercase, found "Data"; use "data""#]
        ),
        BadInput(
            name: "wrong apiVersion",
            yaml: """
                apiVersion: berth/v2
                kind: Volume
                metadata: {name: data}
                spec: {}
                """,
            path: "apiVersion", line: 1, message: [#"expected apiVersion "berth/v1", found "berth/v2""#]
        ),
        BadInput(
            name: "unknown kind",
            yaml: """
                apiVersion: berth/v1
                kind: Servce
                metadata: {name: app}
                spec: {image: nginx}
                """,
            path: "kind", line: 2, message: ["expected one of Project, Volume, Network, Service", #"found "Servce" (did you mean "Service"?)"#]
        ),
        BadInput(
            name: "invalid environment variable name",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  image: nginx:1.27
                  env:
                    GOOD: "1"
                    MY-VAR: x
                """,
            path: "spec.env.MY-VAR", line: 8, message: [#"environment variable name "MY-VAR" contains "-""#]
        ),
        BadInput(
            name: "env reference with both fromEnv and fromFile",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  image: nginx:1.27
                  env:
                    TOKEN: {fromEnv: X, fromFile: /y}
                """,
            path: "spec.env.TOKEN", line: 7, message: ["expected a string, {fromEnv: NAME} or {fromFile: /path}"]
        ),
        .env("env fromFile with a relative path", "KEY: {fromFile: run/secrets/key}", path: "spec.env.KEY.fromFile", message: #"expected an absolute path, found "run/secrets/key""#),
        .env("env fromEnv naming an invalid variable", "KEY: {fromEnv: 1KEY}", path: "spec.env.KEY.fromEnv", message: "cannot start with a digit"),
        .env("env reference with neither fromEnv nor fromFile", "KEY: {}", path: "spec.env.KEY", message: "expected a string, {fromEnv: NAME} or {fromFile: /path}"),
        .env("env reference with an unknown key", "KEY: {fromSecret: key}", path: "spec.env.KEY.fromSecret", message: #"unknown field "fromSecret""#),
        .env("env value that is a list", "KEY: [a, b]", path: "spec.env.KEY", message: "expected a string, found a list"),
        BadInput(
            name: "reserved label key",
            yaml: """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  image: nginx:1.27
                  labels:
                    berth.managed: "false"
                """,
            path: "spec.labels.berth.managed", line: 7, message: [#"label keys starting with "berth." are reserved"#]
        ),
        BadInput(
            name: "renewBefore not shorter than duration",
            yaml: """
                apiVersion: berth/v1
                kind: Certificate
                metadata: {name: web}
                spec:
                  dnsNames: [app.example.org]
                  duration: 30d
                  renewBefore: 30d
                  target: {hostPath: /etc/certs}
                """,
            path: "spec.renewBefore", line: 7, message: ["expected renewBefore (30d) shorter than duration (30d)"]
        ),
        BadInput(
            name: "certificate target without volume or hostPath",
            yaml: """
                apiVersion: berth/v1
                kind: Certificate
                metadata: {name: web}
                spec:
                  dnsNames: [app.example.org]
                  target:
                    path: live/web
                """,
            path: "spec.target", line: 7, message: ["expected either {volume: NAME, path: DIR} or {hostPath: /DIR}"]
        ),
        BadInput(
            name: "project inside a project",
            yaml: """
                apiVersion: berth/v1
                kind: Project
                metadata:
                  name: shop
                  project: other
                """,
            path: "metadata", line: 4, message: ["a Project has no metadata.project; its metadata.name is the project"]
        ),
    ]

    @Test(arguments: badInputs)
    func reportsABadFieldWithItsPathLineAndReason(_ input: BadInput) throws {
        // when
        let issues = readingIssues(input.yaml)
        // then
        let issue = try #require(
            issues.first { $0.path == input.path },
            "no issue at \(input.path); got: \(issues.map(\.description))"
        )
        #expect(issue.location?.file == "bad.yaml")
        #expect(issue.location?.line == input.line)
        for fragment in input.message {
            #expect(issue.message.contains(fragment), "\(issue.message.debugDescription) lacks \(fragment.debugDescription)")
        }
        #expect(issue.description.hasPrefix("bad.yaml:\(input.line):"))
    }

    @Test func anInvalidEnvReferenceIsOneProblemNotTwo() {
        let issues = readingIssues(BadInput.serviceWithEnv("KEY: {fromFile: relative/path}"))
        #expect(issues.map(\.path) == ["spec.env.KEY.fromFile"], "\(issues.map(\.description))")
    }

    @Test func namesTheResourceOnEveryIssueOnceItsIdentityIsKnown() {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Service
            metadata: {name: app, project: shop}
            spec:
              image: nginx:1.27
              replicas: -1
            """
        // when
        let issues = readingIssues(yaml)
        // then
        #expect(issues.map(\.resource) == [ResourceID(kind: .service, project: "shop", name: "app")])
        #expect(issues.first?.description.contains("Service shop/app: spec.replicas: expected an integer from 0 to 1000, found -1") == true)
    }

    @Test func reportsEveryProblemOfADocumentAtOnce() {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Service
            metadata: {name: app}
            spec:
              image: nginx:1.27
              replicas: many
              restart: sometimes
              ports: ["80", "0:80"]
              healthcheck: {command: [], interval: 0s}
              stopGracePeriod: soon
            """
        // when
        let issues = readingIssues(yaml)
        // then
        #expect(issues.count >= 3)
        #expect(Set(issues.map(\.path)) == [
            "spec.replicas", "spec.restart", "spec.ports[1]", "spec.healthcheck.command",
            "spec.healthcheck.interval", "spec.stopGracePeriod",
        ])
        #expect(issues.first { $0.path == "spec.restart" }?.message.contains(#"found "sometimes""#) == true)
    }

    @Test func listsTheProblemsOfADocumentInSourceOrder() {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Service
            metadata: {name: app}
            spec:
              image: nginx:1.27
              volumes: ["./data:/data"]
              env: {MY-VAR: x}
              replicas: two
              labels: {berth.x: y}
            """
        // when
        let issues = readingIssues(yaml)
        // then
        #expect(issues.map(\.path) == ["spec.volumes[0]", "spec.env.MY-VAR", "spec.replicas", "spec.labels.berth.x"])
        #expect(issues.compactMap(\.location?.line) == [6, 7, 8, 9])
    }

    @Test func reportsProblemsOfEveryDocumentOfAStream() {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Volume
            metadata: {name: data}
            spec: {reclaimPolicy: Keep}
            ---
            apiVersion: berth/v1
            kind: Job
            metadata: {name: once}
            spec: {image: busybox, backoffLimit: 1.5}
            """
        // when
        let issues = readingIssues(yaml)
        // then
        #expect(issues.map(\.path) == ["spec.reclaimPolicy", "spec.backoffLimit"])
        #expect(issues.map(\.location?.line) == [4, 9])
        #expect(issues.map(\.resource?.kind) == [.volume, .job])
    }

    @Test func refusesADefaultBucketNameLongerThanS3Allows() throws {
        // given: a 40-character project and a 40-character name make an 81-character default
        let project = String(repeating: "p", count: 40), name = String(repeating: "b", count: 40)
        let yaml = """
            apiVersion: berth/v1
            kind: Bucket
            metadata: {name: \(name), project: \(project)}
            spec:
              versioning: true
            """
        // when
        let issues = readingIssues(yaml)
        // then
        let issue = try #require(issues.first, "a bucket named \(project)-\(name) was accepted")
        #expect(issue.path.hasPrefix("spec"))
        #expect(issue.message.contains("3 to 63 characters"))
        #expect(issue.message.contains("set bucketName") || issue.message.contains("set spec.bucketName"))
    }

    // MARK: Files

    /// A fresh folder holding `files` (name → content), removed after `body`.
    private func withFolder(_ files: [String: String], _ body: (String) throws -> Void) throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("berth-read-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (name, content) in files {
            try content.write(toFile: root + "/" + name, atomically: true, encoding: .utf8)
        }
        try body(root)
    }

    @Test func loadsAFolderIntoValidatedDesiredState() throws {
        try withFolder([
            "project.yaml": "apiVersion: berth/v1\nkind: Project\nmetadata: {name: shop}\n",
            "app.yaml": """
                apiVersion: berth/v1
                kind: Volume
                metadata: {name: data, project: shop}
                spec: {}
                ---
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app, project: shop}
                spec: {image: nginx, volumes: ["data:/data"]}
                """,
        ]) { root in
            // when
            let manifests = try Manifests.load(paths: [root])
            // then
            #expect(manifests.files == [root + "/app.yaml", root + "/project.yaml"])
            #expect(manifests.state.resources.map(\.id.description) == ["Project default/shop", "Volume shop/data", "Service shop/app"])
            #expect(manifests.state.resource(ResourceID(kind: .service, project: "shop", name: "app"))?.location?.line == 6)
        }
    }

    @Test func reportsTheProblemsOfEveryFile() throws {
        try withFolder([
            "a.yaml": """
                apiVersion: berth/v1
                kind: Service
                metadata: {name: app}
                spec:
                  image: nginx
                  replicas: two
                """,
            "b.yaml": """
                apiVersion: berth/v1
                kind: Volume
                metadata: {name: data}
                spec: {drivr: local}
                """,
        ]) { root in
            // when
            let error = #expect(throws: ValidationError.self) { try Manifests.load(paths: [root]) }
            // then
            let issues = error?.issues ?? []
            #expect(issues.map(\.path) == ["spec.replicas", "spec.drivr"])
            #expect(issues.map(\.location) == [
                BerthCore.SourceLocation(file: root + "/a.yaml", line: 6, column: 13),
                BerthCore.SourceLocation(file: root + "/b.yaml", line: 4, column: 8),
            ])
            #expect(issues.last?.message.contains(#"(did you mean "driver"?)"#) == true)
        }
    }

    @Test func checksResourcesAgainstEachOtherOnlyOnceEveryFileReads() throws {
        try withFolder([
            "a.yaml": "apiVersion: berth/v1\nkind: Service\nmetadata: {name: app, project: shop}\nspec: {image: nginx}\n",
            "b.yaml": "apiVersion: berth/v1\nkind: Service\nmetadata: {name: app, project: shop}\nspec: {image: nginx}\n",
        ]) { root in
            // when
            let error = #expect(throws: ValidationError.self) { try Manifests.load(paths: [root]) }
            // then
            let messages = error?.issues.map(\.message) ?? []
            #expect(messages.contains { $0.contains(#"project "shop" is not declared"#) })
            #expect(messages.contains { $0.contains("declared twice (first declared at \(root)/a.yaml:1:1)") })
        }
    }
}

extension Resource {
    /// The same resource without its source position, to compare resources read from different text.
    fileprivate var withoutLocation: Resource {
        var copy = self
        copy.location = nil
        return copy
    }
}
