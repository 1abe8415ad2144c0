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
        #expect(
            resource.spec
                == .volume(
                    VolumeSpec(
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
              placement: {nodeSelector: {zone: eu}, spread: false, rescheduleAfter: 5m}
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
        #expect(
            container.env == [
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
        #expect(
            spec.healthcheck
                == HealthcheckSpec(
                    command: ["wget", "-qO-", "http://127.0.0.1:8000/health"],
                    interval: .seconds(10), timeout: .seconds(30), retries: 3, startPeriod: .seconds(0)
                ))
        #expect(spec.restart == .onFailure)
        #expect(spec.dependsOn == [Dependency(name: "cache", condition: .started), Dependency(name: "db", condition: .healthy)])
        #expect(spec.updateOrder == .stopFirst)
        #expect(spec.placement == PlacementSpec(nodeSelector: ["zone": "eu"], spread: false, rescheduleAfter: .after(.minutes(5))))
    }

    @Test func aPlacementNamingANodeAndANodeSelectorIsRefusedAtItsLine() {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Service
            metadata: {name: app, project: shop}
            spec:
              image: example/app:1.4
              placement:
                node: web-1
                nodeSelector: {zone: eu}
                rescheduleAfter: later
            """
        // when
        let issues = readingIssues(yaml)
        // then
        #expect(issues.map(\.path) == ["spec.placement.nodeSelector", "spec.placement.rescheduleAfter"])
        #expect(issues.map(\.location?.line) == [8, 9] && issues.allSatisfy { $0.location?.file == "bad.yaml" })
        #expect(issues.first?.message.hasPrefix("node and nodeSelector both choose where the replicas run") == true)
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
        #expect(
            resource.spec
                == .bucket(
                    BucketSpec(
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
        #expect(
            resource.spec
                == .bucket(
                    BucketSpec(
                        bucketName: "qfield.files-eu", versioning: true,
                        lifecycle: BucketSpec.Lifecycle(expireDays: 7, noncurrentExpireDays: 30, abortIncompleteUploadsDays: 2),
                        tags: ["owner": "gis", "app:name": "q field"], reclaimPolicy: .delete, deleteNonEmpty: true
                    )))
    }

    @Test func anEmptyBucketLifecycleIsNoLifecycle() throws {
        let resource = try readOne(
            """
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
        #expect(
            resource.spec
                == .certificate(
                    CertificateSpec(
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
            ---
            apiVersion: berth/v1
            kind: JobTemplate
            metadata: {name: export, project: shop}
            spec:
              parameters:
                - {name: id, required: true, pattern: "[0-9]+", description: the export}
                - {name: format, type: enum, values: [gpkg, csv], default: gpkg}
                - {name: retries, type: integer, default: 2}
                - {name: dry, type: boolean, default: false}
              job:
                image: example/worker:3
                command: [export, "{{ .parameters.id }}", "--format={{ .parameters.format }}"]
                env: {DRY: "{{ .parameters.dry }}"}
                inputPaths: [/io]
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
}

extension Resource {
    /// The same resource without its source position, to compare resources read from different text.
    fileprivate var withoutLocation: Resource {
        var copy = self
        copy.location = nil
        return copy
    }
}
