import Foundation
import Testing
@testable import BerthCore

/// A service that sets every recreate-relevant field, so each mutation below changes exactly one.
private func baseService() throws -> ServiceSpec {
    ServiceSpec(
        container: ContainerSpec(
            image: try ImageReference(parsing: "example/app:1.4"),
            command: ["gunicorn", "app.wsgi"],
            entrypoint: ["/entry.sh"],
            workingDir: "/srv/app",
            user: "1000:1000",
            env: ["FOO": .literal("1"), "SECRET": .fromFile("/run/secrets/key")],
            labels: ["tier": "web"],
            volumes: [try Mount(parsing: "data:/data")],
            network: .bridge,
            resources: ResourceLimits(memory: try ByteSize(parsing: "512Mi"), cpus: try CPUQuantity(parsing: "1")),
            stopSignal: .sigterm,
            stopGracePeriod: .seconds(10),
            pullPolicy: .ifNotPresent,
            init: false,
            noNewPrivileges: false
        ),
        replicas: 1,
        ports: [try PortMapping(parsing: "8080:80")],
        healthcheck: HealthcheckSpec(command: ["wget", "-qO-", "http://127.0.0.1/health"], interval: .seconds(10)),
        restart: .always,
        dependsOn: [],
        updateOrder: nil
    )
}

private func decodeJSON<Value: Decodable>(_ type: Value.Type, _ json: String) throws -> Value {
    try JSONDecoder().decode(type, from: Data(json.utf8))
}

/// A change that needs the containers recreated, and the field `SpecHash.changedFields` names for it.
enum RecreatingChange: String, CaseIterable, Sendable {
    case image, command, commandRemoved, entrypoint, envValue, envAdded, envReference, volumes, network
    case memory, cpus, ports, healthcheckInterval, stopSignal, stopGracePeriod, user, workingDir, labels
    case runInit, noNewPrivileges

    func apply(to spec: inout ServiceSpec) throws {
        switch self {
        case .image: spec.container.image = try ImageReference(parsing: "example/app:1.5")
        case .command: spec.container.command = ["gunicorn", "app.wsgi", "--workers", "4"]
        case .commandRemoved: spec.container.command = nil
        case .entrypoint: spec.container.entrypoint = ["/bin/tini", "--"]
        case .envValue: spec.container.env["FOO"] = .literal("2")
        case .envAdded: spec.container.env["BAR"] = .literal("1")
        case .envReference: spec.container.env["SECRET"] = .fromFile("/run/secrets/key-2")
        case .volumes: spec.container.volumes = [try Mount(parsing: "data:/data:ro")]
        case .network: spec.container.network = .host
        case .memory: spec.container.resources?.memory = try ByteSize(parsing: "1Gi")
        case .cpus: spec.container.resources?.cpus = try CPUQuantity(parsing: "1500m")
        case .ports: spec.ports = [try PortMapping(parsing: "8081:80")]
        case .healthcheckInterval: spec.healthcheck?.interval = .seconds(5)
        case .stopSignal: spec.container.stopSignal = try StopSignal(parsing: "SIGQUIT")
        case .stopGracePeriod: spec.container.stopGracePeriod = .seconds(30)
        case .user: spec.container.user = "app"
        case .workingDir: spec.container.workingDir = "/srv"
        case .labels: spec.container.labels["tier"] = "api"
        case .runInit: spec.container.`init` = true
        case .noNewPrivileges: spec.container.noNewPrivileges = true
        }
    }

    var changedField: String {
        switch self {
        case .image: "image"
        case .command, .commandRemoved: "command"
        case .entrypoint: "entrypoint"
        case .envValue: "env.FOO"
        case .envAdded: "env.BAR"
        case .envReference: "env.SECRET.fromFile"
        case .volumes: "volumes"
        case .network: "network"
        case .memory: "resources.memory"
        case .cpus: "resources.cpus"
        case .ports: "ports"
        case .healthcheckInterval: "healthcheck.interval"
        case .stopSignal: "stopSignal"
        case .stopGracePeriod: "stopGracePeriod"
        case .user: "user"
        case .workingDir: "workingDir"
        case .labels: "labels.tier"
        case .runInit: "init"
        case .noNewPrivileges: "noNewPrivileges"
        }
    }
}

/// A change that applies without recreating containers.
enum InPlaceChange: String, CaseIterable, Sendable {
    case replicas, dependsOn, restart, pullPolicy, updateOrder, placement

    func apply(to spec: inout ServiceSpec) {
        switch self {
        case .replicas: spec.replicas = 5
        case .dependsOn: spec.dependsOn = [Dependency(name: "db", condition: .healthy)]
        case .restart: spec.restart = .onFailure
        case .pullPolicy: spec.container.pullPolicy = .always
        case .updateOrder: spec.updateOrder = .stopFirst
        case .placement: spec.placement = PlacementSpec(nodeSelector: ["zone": "a"], spread: true, rescheduleAfter: .never)
        }
    }
}

@Suite("Spec hashes")
struct SpecHashTests {
    // MARK: The hash itself

    @Test func isFNV1aOf64BitsWrittenAsSixteenHexDigits() {
        #expect(SpecHash.hash([]) == "cbf29ce484222325")
        #expect(SpecHash.hash(Array("a".utf8)) == "af63dc4c8601ec8c")
        #expect(SpecHash.hash(Array("foobar".utf8)) == "85944171f73967e8")
    }

    @Test func isSixteenLowercaseHexDigitsAndStable() throws {
        // given
        let spec = try baseService()
        // when
        let hash = SpecHash.of(spec)
        // then
        #expect(hash.count == 16)
        #expect(hash.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(SpecHash.of(try baseService()) == hash)
        // Golden value. Changing it changes the `berth.spec-hash` label of every service, so an
        // upgrade would recreate every container Berth runs: change the canonical form only on purpose.
        #expect(hash == "3570d511ef307ecd")
    }

    // MARK: Equal specs written differently

    @Test func ignoresKeyOrderAndOmittedDefaultsInDecodedSpecs() throws {
        // given
        let short = """
            {"image": "nginx:1.27", "env": {"B": "2", "A": "1"}, "resources": {"cpus": "0.5"}}
            """
        let long = """
            {"stopSignal": "TERM", "resources": {"cpus": "500m"}, "networks": ["default"], "stopGracePeriod": "10000ms",
             "env": {"A": "1", "B": "2"}, "pullPolicy": "Always", "init": false, "image": "nginx:1.27",
             "volumes": [], "ports": [], "labels": {}, "replicas": 3, "restart": "never", "noNewPrivileges": false}
            """
        // when
        let first = try decodeJSON(ServiceSpec.self, short)
        let second = try decodeJSON(ServiceSpec.self, long)
        // then
        #expect(first != second, "replicas, restart and pullPolicy differ")
        #expect(SpecHash.of(first) == SpecHash.of(second))
        #expect(SpecHash.changedFields(from: first, to: second).isEmpty)
    }

    @Test func ignoresWhetherDefaultsWereGivenExplicitly() throws {
        // given
        let image = try ImageReference(parsing: "nginx:1.27")
        let implicit = ServiceSpec(container: ContainerSpec(image: image))
        let explicit = ServiceSpec(
            container: ContainerSpec(
                image: image, env: [:], labels: [:], volumes: [], networks: [NetworkAttachment(name: "default")], stopSignal: try StopSignal(parsing: "15"),
                stopGracePeriod: try TimeSpan(parsing: "10s"), pullPolicy: .ifNotPresent, init: false, noNewPrivileges: false
            ),
            replicas: 1, ports: [], restart: .always, dependsOn: []
        )
        // then
        #expect(SpecHash.of(implicit) == SpecHash.of(explicit))
    }

    @Test func ignoresTheOrderEnvironmentVariablesAndLabelsWereAddedIn() throws {
        // given
        let names = (1...40).map { "VAR_\($0)" }
        var forward = try baseService(), backward = try baseService()
        for name in names {
            forward.container.env[name] = .literal(name)
            forward.container.labels[name.lowercased()] = name
        }
        for name in names.reversed() {
            backward.container.env[name] = .literal(name)
            backward.container.labels[name.lowercased()] = name
        }
        // then
        #expect(SpecHash.of(forward) == SpecHash.of(backward))
    }

    // MARK: What changes it

    @Test(arguments: RecreatingChange.allCases)
    func changesWithEveryFieldThatNeedsARecreate(_ change: RecreatingChange) throws {
        // given
        let before = try baseService()
        var after = before
        // when
        try change.apply(to: &after)
        // then
        #expect(after != before, "the mutation must change the spec")
        #expect(SpecHash.of(after) != SpecHash.of(before))
        #expect(SpecHash.changedFields(from: before, to: after) == [change.changedField])
    }

    @Test(arguments: InPlaceChange.allCases)
    func staysTheSameForFieldsThatApplyWithoutARecreate(_ change: InPlaceChange) throws {
        // given
        let before = try baseService()
        var after = before
        // when
        change.apply(to: &after)
        // then
        #expect(after != before, "the mutation must change the spec")
        #expect(SpecHash.of(after) == SpecHash.of(before))
        #expect(SpecHash.changedFields(from: before, to: after).isEmpty)
    }

    @Test func namesEveryChangedFieldSorted() throws {
        // given
        let before = try baseService()
        var after = before
        after.replicas = 3
        after.container.env["FOO"] = .literal("changed")
        after.container.image = try ImageReference(parsing: "example/app:2")
        // when
        let fields = SpecHash.changedFields(from: before, to: after)
        // then
        #expect(fields == ["env.FOO", "image"])
    }

    @Test func hashesAVolumeByDriverOptionsAndLabelsButNotReclaimPolicy() {
        // given
        let volume = VolumeSpec(driver: "local", options: ["type": "tmpfs"], labels: ["backup": "nightly"], reclaimPolicy: .retain)
        var deleting = volume
        deleting.reclaimPolicy = .delete
        var otherDriver = volume
        otherDriver.driver = "nfs"
        var otherOptions = volume
        otherOptions.options["o"] = "size=1g"
        var otherLabels = volume
        otherLabels.labels["backup"] = "weekly"
        // then
        #expect(SpecHash.of(deleting) == SpecHash.of(volume))
        #expect(Set([volume, otherDriver, otherOptions, otherLabels].map(SpecHash.of)).count == 4)
    }

    // MARK: JSON round trip

    static func sample(_ kind: ResourceKind) throws -> Resource {
        let job = JobSpec(
            container: ContainerSpec(
                image: try ImageReference(parsing: "example/worker:3"),
                command: ["python", "-m", "worker"],
                env: ["TOKEN": .fromEnv("WORKER_TOKEN"), "MODE": .literal("batch")],
                volumes: [try Mount(parsing: "/srv/jobs:/io")],
                network: .none,
                resources: ResourceLimits(memory: try ByteSize(parsing: "1000Mi"), cpus: try CPUQuantity(parsing: "1")),
                init: true
            ),
            activeDeadline: .minutes(10), backoffLimit: 1, priority: 10, feedbackPath: "/io/feedback.json",
            ttlAfterFinished: .hours(1), nonRetryableExitCodes: [2]
        )
        let spec: ResourceSpec =
            switch kind {
            case .project:
                .project(ProjectSpec(maxConcurrentJobs: 4, exclusiveJobs: true, defaultResources: ResourceLimits(memory: try ByteSize(parsing: "256Mi"))))
            case .volume:
                .volume(VolumeSpec(driver: "local", options: ["type": "tmpfs"], labels: ["a": "b"], reclaimPolicy: .delete))
            case .network:
                .network(NetworkSpec(internal: true, ipam: NetworkSpec.IPAM(subnet: "10.20.0.0/24", gateway: "10.20.0.1"), labels: ["a": "b"], reclaimPolicy: .retain))
            case .service:
                .service(try baseService())
            case .job:
                .job(job)
            case .cronJob:
                .cronJob(
                    CronJobSpec(
                        schedule: try CronSchedule(parsing: "*/5 * * * *"), timeZone: try TimeZoneName(parsing: "Europe/Zurich"),
                        concurrencyPolicy: .replace, startingDeadline: .minutes(1),
                        suspend: true, successfulJobsHistoryLimit: 5, failedJobsHistoryLimit: 2, jobTemplate: job
                    ))
            case .bucket:
                .bucket(
                    BucketSpec(
                        bucketName: "shop-files", versioning: true, lifecycle: BucketSpec.Lifecycle(noncurrentExpireDays: 30),
                        tags: ["owner": "gis"], reclaimPolicy: .retain
                    ))
            case .certificate:
                .certificate(
                    CertificateSpec(
                        commonName: "shop.example.org", dnsNames: ["shop.example.org"], ipAddresses: ["127.0.0.1"],
                        issuer: .localCA, keyAlgorithm: .ecdsaP384, duration: .days(30), renewBefore: .days(10),
                        target: .volume(name: "certs", path: "live/shop"),
                        reload: [CertificateSpec.Reload(service: "proxy", signal: .defaultReload)]
                    ))
            case .jobTemplate:
                .jobTemplate(
                    JobTemplateSpec(
                        job: JobSpec(container: ContainerSpec(image: job.container.image, command: ["run", "{{ .parameters.id }}"]), inputPaths: ["/io"]),
                        parameters: [
                            TemplateParameter(name: "id", required: true, pattern: "[0-9]+", description: "the id"),
                            TemplateParameter(name: "mode", type: .enum, values: ["a", "b"], defaultValue: "a"),
                            TemplateParameter(name: "count", type: .integer, defaultValue: "2"),
                            TemplateParameter(name: "dry", type: .boolean, defaultValue: "false"),
                        ]))
            }
        let project = kind == .project ? ResourceID.defaultProject : "shop"
        return Resource(metadata: ResourceMetadata(name: "sample", project: project, labels: ["team": "ops"]), spec: spec)
    }

    @Test(arguments: ResourceKind.allCases)
    func decodesWhatItEncodes(_ kind: ResourceKind) throws {
        // given
        let resource = try Self.sample(kind)
        // when
        let json = try JSONEncoder().encode(resource)
        let decoded = try JSONDecoder().decode(Resource.self, from: json)
        // then
        #expect(decoded == resource)
    }

    @Test func rejectsBadJSONNamingEachFieldPath() throws {
        // given
        let json = """
            {"apiVersion": "berth/v1", "kind": "Service", "metadata": {"name": "app"},
             "spec": {"image": "nginx", "replicas": "two", "healthcheck": {"command": ["true"], "interval": "soon"}}}
            """
        // when
        let error = #expect(throws: ValidationError.self) { try decodeJSON(Resource.self, json) }
        // then
        let issues = error?.issues ?? []
        #expect(issues.map(\.path).sorted() == ["spec.healthcheck.interval", "spec.replicas"])
        #expect(issues.allSatisfy { $0.resource == ResourceID(kind: .service, project: "default", name: "app") })
        #expect(issues.allSatisfy { $0.location == nil })
        #expect(issues.contains { $0.message == #"expected an integer, found string "two""# })
    }

    @Test func rejectsABadDecodedServiceSpecUnderThePathSpec() throws {
        // when
        let error = #expect(throws: ValidationError.self) {
            try decodeJSON(ServiceSpec.self, #"{"image": "nginx", "imgae": "x", "ports": ["0:80"]}"#)
        }
        // then
        #expect(error?.issues.map(\.path).sorted() == ["spec.imgae", "spec.ports[0]"])
    }
}

extension SpecHashTests {
    /// age encryption is randomized: the same secret encrypted again is another ciphertext, and
    /// the hash covers the ciphertext (never a plaintext, which the planner never sees).
    @Test func aReencryptedValueChangesTheHashAndNamesTheVariable() throws {
        func block(_ body: String) -> EnvValue { .encrypted("\(AgeArmor.header)\n\(body)\n\(AgeArmor.footer)\n") }
        var before = try baseService(), after = try baseService()
        before.container.env["TOKEN"] = block("YWdlLWVuY3J5cHRpb24ub3JnL3YxCg==")
        after.container.env["TOKEN"] = block("YWdlLWVuY3J5cHRpb24ub3JnL3YxCgo=")
        #expect(SpecHash.of(before) != SpecHash.of(after))
        #expect(SpecHash.changedFields(from: before, to: after) == ["env.TOKEN"])
    }
}
