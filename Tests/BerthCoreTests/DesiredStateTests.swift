import Testing
@testable import BerthCore

/// `resource` as if read from `file` at `line`.
private func located(_ resource: Resource, _ file: String, line: Int) -> Resource {
    var resource = resource
    resource.location = BerthCore.SourceLocation(file: file, line: line, column: 1)
    return resource
}

/// The issues `resources` are rejected with, or an empty list when they form a valid state.
private func crossCheckIssues(_ resources: [Resource]) -> [ValidationIssue] {
    do {
        _ = try DesiredState.validate(resources)
        return []
    } catch {
        return error.issues
    }
}

private func certificate(_ name: String, project: String = "shop", target: CertificateSpec.Target, reload: [String] = []) -> Resource {
    let spec = CertificateSpec(
        commonName: "app.example.org", dnsNames: ["app.example.org"], target: target,
        reload: reload.map { CertificateSpec.Reload(service: $0, signal: .defaultReload) }
    )
    return Resource(metadata: ResourceMetadata(name: name, project: project), spec: .certificate(spec))
}

private func bucket(_ name: String, project: String = "shop", bucketName: String) -> Resource {
    Resource(metadata: ResourceMetadata(name: name, project: project), spec: .bucket(BucketSpec(bucketName: bucketName)))
}

private func job(_ name: String, project: String = "shop", volumes: [String] = [], resources: ResourceLimits? = nil) throws -> Resource {
    let container = ContainerSpec(
        image: try ImageReference(parsing: "example/worker:1"),
        volumes: try volumes.map { try Mount(parsing: $0) },
        resources: resources
    )
    return Resource(metadata: ResourceMetadata(name: name, project: project), spec: .job(JobSpec(container: container)))
}

private func cronJob(_ name: String, project: String = "shop", volumes: [String] = []) throws -> Resource {
    guard case .job(let template) = try job(name, project: project, volumes: volumes).spec else {
        preconditionFailure("job(_:) builds a Job")
    }
    let spec = CronJobSpec(schedule: try CronSchedule(parsing: "@daily"), jobTemplate: template)
    return Resource(metadata: ResourceMetadata(name: name, project: project), spec: .cronJob(spec))
}

private func project(_ name: String, defaults: ResourceLimits) -> Resource {
    Resource(metadata: ResourceMetadata(name: name), spec: .project(ProjectSpec(defaultResources: defaults)))
}

private func withResources(_ resource: Resource, _ limits: ResourceLimits) -> Resource {
    guard case .service(var spec) = resource.spec else { preconditionFailure("not a service") }
    spec.container.resources = limits
    var resource = resource
    resource.spec = .service(spec)
    return resource
}

@Suite("Checks across resources")
struct DesiredStateTests {
    let shop = Fixture.project("shop")

    // MARK: Identity and projects

    @Test func rejectsAResourceDeclaredTwiceNamingTheFirstPlace() throws {
        // given
        let first = located(try Fixture.service("app"), "a.yaml", line: 3)
        let second = located(try Fixture.service("app", image: "example/app:2"), "b.yaml", line: 12)
        // when
        let issues = crossCheckIssues([shop, first, second])
        // then
        #expect(issues.count == 1)
        let issue = try #require(issues.first)
        #expect(issue.resource == ResourceID(kind: .service, project: "shop", name: "app"))
        #expect(issue.location == second.location)
        #expect(issue.message == "duplicate resource: Service shop/app is declared twice (first declared at a.yaml:3:1)")
    }

    @Test func allowsTheSameNameForDifferentKindsAndProjects() throws {
        // given
        let resources = [
            shop, Fixture.project("other"), try Fixture.service("db"), Fixture.volume("db"),
            try Fixture.service("db", project: "other"),
        ]
        // when
        let state = try DesiredState.validate(resources)
        // then
        #expect(state.resources.count == 5)
    }

    @Test func rejectsAResourceOfAnUndeclaredProject() throws {
        // given
        let service = located(try Fixture.service("app", project: "ghost"), "app.yaml", line: 1)
        // when
        let issues = crossCheckIssues([service])
        // then
        let issue = try #require(issues.first)
        #expect(issues.count == 1)
        #expect(issue.path == "metadata.project")
        #expect(issue.location == service.location)
        #expect(issue.message.hasPrefix(#"project "ghost" is not declared; add a Project document named ghost"#))
    }

    @Test func knowsTheDefaultProjectWithoutADeclaration() throws {
        // given
        let service = try Fixture.service("app", project: "default", volumes: ["data:/data"])
        let volume = Fixture.volume("data", project: "default")
        // when
        let state = try DesiredState.validate([service, volume])
        // then
        #expect(state.projects.keys.sorted() == ["default"])
        #expect(state.services.map(\.id.name) == ["app"])
        #expect(state.referencedProjects == ["default"])
    }

    // MARK: Volumes

    @Test func rejectsMountsOfUndeclaredVolumesInServicesJobsAndCronJobs() throws {
        // given
        let resources = [
            shop, Fixture.volume("data"), Fixture.volume("media", project: "default"),
            try Fixture.service("app", volumes: ["data:/data", "/srv/config:/config:ro", "media:/media"]),
            try job("export", volumes: ["cache:/cache"]),
            try cronJob("tidy", volumes: ["data:/data", "tmp:/tmp"]),
        ]
        // when
        let issues = crossCheckIssues(resources)
        // then
        #expect(
            issues.map { "\($0.resource?.name ?? "?") \($0.path)" }.sorted() == [
                "app spec.volumes[2]", "export spec.volumes[0]", "tidy spec.jobTemplate.volumes[1]",
            ])
        #expect(issues.contains { $0.message == #"volume "media" is not declared in project shop; add a Volume named media or mount a host path"# })
        #expect(issues.contains { $0.message.hasPrefix(#"volume "cache" is not declared in project shop"#) })
        #expect(issues.contains { $0.message.hasPrefix(#"volume "tmp" is not declared in project shop"#) })
    }

    // MARK: Dependencies

    @Test func rejectsADependencyOnAnUndeclaredService() throws {
        // given
        let app = try Fixture.service("app", dependsOn: [Dependency(name: "cache"), Dependency(name: "db")])
        let cache = try Fixture.service("cache")
        let otherDB = try Fixture.service("db", project: "default")
        // when
        let issues = crossCheckIssues([shop, app, cache, otherDB])
        // then
        #expect(issues.count == 1)
        #expect(issues.first?.path == "spec.dependsOn[1]")
        #expect(issues.first?.message == #"service "db" is not declared in project shop"#)
    }

    @Test func rejectsAServiceThatDependsOnItself() throws {
        // given
        let app = try Fixture.service("app", dependsOn: [Dependency(name: "app")])
        // when
        let issues = crossCheckIssues([shop, app])
        // then
        #expect(issues.map(\.path) == ["spec.dependsOn[0]"])
        #expect(issues.map(\.message) == ["a service cannot depend on itself"])
    }

    @Test func reportsADependencyCycleOnceWithItsMembersInOrder() throws {
        // given: declared out of order, so the report does not follow the input order
        let resources = [
            shop,
            try Fixture.service("c", dependsOn: [Dependency(name: "a")]),
            try Fixture.service("b", dependsOn: [Dependency(name: "c")]),
            try Fixture.service("a", dependsOn: [Dependency(name: "b")]),
            try Fixture.service("d", dependsOn: [Dependency(name: "a")]),
        ]
        // when
        let issues = crossCheckIssues(resources)
        // then
        #expect(issues.count == 1)
        #expect(issues.first?.message == "dependency cycle: a → b → c → a")
        #expect(issues.first?.resource?.name == "a")
        #expect(issues.first?.path == "spec.dependsOn")
    }

    @Test func reportsSeparateCyclesSeparately() throws {
        // given
        let resources = [
            shop,
            try Fixture.service("a", dependsOn: [Dependency(name: "b")]),
            try Fixture.service("b", dependsOn: [Dependency(name: "a")]),
            try Fixture.service("x", dependsOn: [Dependency(name: "y")]),
            try Fixture.service("y", dependsOn: [Dependency(name: "x")]),
        ]
        // when
        let messages = crossCheckIssues(resources).map(\.message)
        // then
        #expect(messages.sorted() == ["dependency cycle: a → b → a", "dependency cycle: x → y → x"])
    }

    @Test func acceptsADiamondOfDependencies() throws {
        // given
        let resources = [
            shop,
            try Fixture.service("app", dependsOn: [Dependency(name: "api"), Dependency(name: "worker")]),
            try Fixture.service("api", dependsOn: [Dependency(name: "db")]),
            try Fixture.service("worker", dependsOn: [Dependency(name: "db")]),
            try Fixture.service("db"),
        ]
        // when
        let issues = crossCheckIssues(resources)
        // then
        #expect(issues.isEmpty)
    }

    @Test func requiresAHealthcheckOnTheTargetOfAHealthyCondition() throws {
        // given
        let app = try Fixture.service("app", dependsOn: [Dependency(name: "db", condition: .healthy), Dependency(name: "cache", condition: .healthy)])
        let db = try Fixture.service("db")
        let cache = try Fixture.service("cache", healthcheck: true)
        // when
        let issues = crossCheckIssues([shop, app, db, cache])
        // then
        #expect(issues.map(\.path) == ["spec.dependsOn[0]"])
        #expect(issues.map(\.message) == [#"condition healthy needs a healthcheck on service "db"; add one or use condition started"#])
    }

    // MARK: Certificates and buckets

    @Test func rejectsACertificateForAMissingVolumeOrReloadingAMissingService() throws {
        // given
        let resources = [
            shop, try Fixture.service("proxy"),
            certificate("web", target: .volume(name: "certs", path: "live"), reload: ["proxy", "api"]),
        ]
        // when
        let issues = crossCheckIssues(resources)
        // then
        #expect(issues.map(\.path) == ["spec.reload[1].service", "spec.target.volume"])
        #expect(
            issues.map(\.message) == [
                #"service "api" is not declared in project shop, so it cannot be reloaded"#,
                #"volume "certs" is not declared in project shop"#,
            ])
    }

    @Test func acceptsACertificateWrittenToADeclaredVolumeOrAHostPath() throws {
        // given
        let resources = [
            shop, Fixture.volume("certs"), try Fixture.service("proxy"),
            certificate("web", target: .volume(name: "certs", path: "live"), reload: ["proxy"]),
            certificate("api", target: .hostPath("/etc/certs")),
        ]
        // when
        let issues = crossCheckIssues(resources)
        // then
        #expect(issues.isEmpty)
    }

    @Test func rejectsTwoBucketsWithTheSameBucketNameInAnyProject() throws {
        // given
        let resources = [
            shop, Fixture.project("other"),
            bucket("files", bucketName: "acme-files"),
            bucket("uploads", project: "other", bucketName: "acme-files"),
            bucket("exports", bucketName: "acme-exports"),
        ]
        // when
        let issues = crossCheckIssues(resources)
        // then
        #expect(issues.count == 1)
        #expect(issues.first?.path == "spec.bucketName")
        #expect(issues.first?.resource == ResourceID(kind: .bucket, project: "shop", name: "files"))
        #expect(issues.first?.message == #"bucket "acme-files" is already declared by Bucket other/uploads"#)
    }

    // MARK: Host ports

    @Test func rejectsTwoServicesPublishingTheSameHostPort() throws {
        // given
        let resources = [
            shop,
            try Fixture.service("api", ports: ["8080:80"]),
            try Fixture.service("web", ports: ["443", "8080:8080"]),
        ]
        // when
        let issues = crossCheckIssues(resources)
        // then
        #expect(issues.count == 1)
        #expect(issues.first?.resource?.name == "web")
        #expect(issues.first?.path == "spec.ports[1]")
        #expect(issues.first?.message == "host port 8080/tcp is also published by Service shop/api")
    }

    @Test func letsServicesShareAPortNumberOnOtherAddressesOrProtocols() throws {
        // given
        let resources = [
            shop,
            try Fixture.service("dns-tcp", ports: ["53:53"]),
            try Fixture.service("dns-udp", ports: ["53:53/udp"]),
            try Fixture.service("local-a", ports: ["127.0.0.1:9000:80"]),
            try Fixture.service("local-b", ports: ["127.0.0.2:9000:80"]),
        ]
        // when
        let issues = crossCheckIssues(resources)
        // then
        #expect(issues.isEmpty)
    }

    @Test func rejectsSeveralReplicasOfAFixedHostPortButNotOfAnEphemeralOne() throws {
        // given
        let resources = [
            shop,
            try Fixture.service("web", replicas: 2, ports: ["80", "8080:80"]),
            try Fixture.service("api", replicas: 3, ports: ["127.0.0.1::80"]),
        ]
        // when
        let issues = crossCheckIssues(resources)
        // then
        #expect(issues.map(\.path) == ["spec.ports[1]"])
        #expect(issues.map(\.message) == ["2 replicas cannot all publish host port 8080; use one replica or leave the host port out"])
    }

    // MARK: Reporting

    @Test func reportsEveryProblemAtOnceInSourceOrder() throws {
        // given
        let resources = [
            shop,
            located(try Fixture.service("web", dependsOn: [Dependency(name: "missing")]), "b.yaml", line: 9),
            located(try Fixture.service("app", volumes: ["nope:/data"]), "a.yaml", line: 20),
            located(try Fixture.service("ghost", project: "nowhere"), "a.yaml", line: 1),
        ]
        // when
        let issues = crossCheckIssues(resources)
        // then
        #expect(issues.map(\.location?.description) == ["a.yaml:1:1", "a.yaml:20:1", "b.yaml:9:1"])
        #expect(issues.map(\.path) == ["metadata.project", "spec.volumes[0]", "spec.dependsOn[0]"])
    }

    // MARK: Project defaults

    @Test func fillsProjectDefaultResourcesIntoServicesAndJobsThatLackThem() throws {
        // given
        let defaults = ResourceLimits(memory: ByteSize(bytes: 512 << 20), cpus: CPUQuantity(millicores: 1000))
        let bare = try Fixture.service("bare")
        let cpusOnly = withResources(try Fixture.service("cpus-only"), ResourceLimits(cpus: CPUQuantity(millicores: 2000)))
        let explicit = withResources(
            try Fixture.service("explicit"),
            ResourceLimits(memory: ByteSize(bytes: 1 << 30), cpus: CPUQuantity(millicores: 250))
        )
        let elsewhere = try Fixture.service("elsewhere", project: "default")
        // when
        let state = try DesiredState.validate([
            project("shop", defaults: defaults), bare, cpusOnly, explicit, elsewhere, try job("export"), try cronJob("tidy"),
        ])
        // then
        func limits(_ kind: ResourceKind, _ name: String, project: String = "shop") -> ResourceLimits? {
            switch state.resource(ResourceID(kind: kind, project: project, name: name))?.spec {
            case .service(let spec): spec.container.resources
            case .job(let spec): spec.container.resources
            case .cronJob(let spec): spec.jobTemplate.container.resources
            default: nil
            }
        }
        #expect(limits(.service, "bare") == defaults)
        #expect(limits(.service, "cpus-only") == ResourceLimits(memory: ByteSize(bytes: 512 << 20), cpus: CPUQuantity(millicores: 2000)))
        #expect(limits(.service, "explicit") == ResourceLimits(memory: ByteSize(bytes: 1 << 30), cpus: CPUQuantity(millicores: 250)))
        #expect(limits(.service, "elsewhere", project: "default") == nil)
        #expect(limits(.job, "export") == defaults)
        #expect(limits(.cronJob, "tidy") == defaults)
    }

    @Test func decryptsFilesForTheOperatorAndForAPIWritersOnlyWithThePolicy() throws {
        // given: a service the operator declared and one an API writer wrote, in a project
        // without and one with policy.decryptSecrets
        let declared = try Fixture.service("declared")
        let written = try Fixture.service("written")
        let allowing = Resource(
            metadata: ResourceMetadata(name: "open"), spec: .project(ProjectSpec(policy: ProjectPolicy(decryptSecrets: true))))
        let openService = try Fixture.service("written", project: "open")
        var state = try DesiredState.validate([shop, declared, written, allowing, openService])
        state.markWrittenByAPIWriters([written.id, openService.id])
        // then
        #expect(state.decryptsFiles(for: declared.id, project: "shop"))
        #expect(!state.decryptsFiles(for: written.id, project: "shop"))
        #expect(state.decryptsFiles(for: openService.id, project: "open"))
        // a job no declared resource owns (submitted through the API) follows its project's policy
        #expect(!state.decryptsFiles(for: nil, project: "shop"))
        #expect(state.decryptsFiles(for: nil, project: "open"))
    }

    @Test func hashesServicesAfterApplyingProjectDefaults() throws {
        // given
        let defaults = ResourceLimits(memory: ByteSize(bytes: 256 << 20))
        let service = try Fixture.service("app")
        let id = service.id
        // when
        let withDefaults = try DesiredState.validate([project("shop", defaults: defaults), service])
        let without = try DesiredState.validate([shop, service])
        // then
        guard case .service(let filled)? = withDefaults.resource(id)?.spec else {
            Issue.record("the service is missing from the desired state")
            return
        }
        #expect(withDefaults.specHashes[id] == SpecHash.of(filled))
        #expect(withDefaults.specHashes[id] != without.specHashes[id])
    }
}
