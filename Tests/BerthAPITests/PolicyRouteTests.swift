import BerthAPI
import BerthCore
import BerthStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The probes of an API writer trying to reach the host, each refused with its field, and the same
/// documents taken once the operator's policy allows them.
@Suite("Policy on API writes") struct PolicyRouteTests {
    /// A real host folder the operator may allow, holding a symlink that points out of it.
    struct HostFolder {
        let path: String

        init(in fixture: APIFixture) throws {
            path = fixture.directory.appendingPathComponent("srv-shop").path
            try FileManager.default.createDirectory(atPath: path + "/data", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: path + "/escape", withDestinationPath: "/etc")
        }
    }

    /// Declares project alpha's policy in a second manifest file (manifests are read per write).
    private func declarePolicy(_ fixture: APIFixture, _ policy: String) throws {
        // Project alpha is declared in stack.yaml; a policy needs the declaration itself changed.
        let text = APIFixture.manifest.replacingOccurrences(of: "metadata: {name: alpha}\n", with: "metadata: {name: alpha}\nspec:\n  policy: \(policy)\n")
        try text.write(toFile: fixture.manifestFile, atomically: true, encoding: .utf8)
    }

    @Test func hostMountsTheHostNetworkAndTheDockerSocketAreRefusedToAProjectWriter() async throws {
        let fixture = try await APIFixture()
        let folder = try HostFolder(in: fixture)
        try await fixture.test { client in
            let token = fixture.tokens["resources-alpha"]
            let probes: [(extra: String, field: String, says: String)] = [
                ("  volumes: [\"/:/host\"]", "spec.volumes[0]", "host path / is never allowed for API-written resources (it holds /proc)"),
                ("  volumes: [\"/var/run/docker.sock:/var/run/docker.sock\"]", "spec.volumes[0]", "is never allowed"),
                ("  volumes: [\"\(folder.path)/data:/data\"]", "spec.volumes[0]", "host path \(folder.path)/data is not allowed for API-written resources of project alpha (policy.hostPaths)"),
                ("  volumes: [\"\(folder.path)/../../../../etc:/x\"]", "spec.volumes[0]", "(/etc) is not allowed"),
                ("  env: {KEY: {fromFile: \(fixture.directory.path)/berth.db}}", "spec.env.KEY", "is not allowed"),
                (
                    "  env: {SECRET: {fromEnv: PATH}}", "spec.env.SECRET",
                    "the controller's environment variable PATH is not allowed for API-written resources of project alpha (policy.envFromController)"
                ),
            ]
            for probe in probes {
                let response = try await client.call(.put, "/v1/resources/service/alpha/web", token: token, body: APIFixture.serviceYAML("web", extra: probe.extra))
                #expect(response.status == .forbidden, "\(probe.extra): \(response.text)")
                #expect(try response.error()["code"] as? String == "policy")
                #expect(try response.error()["field"] as? String == probe.field)
                #expect(response.errorMessage().contains(probe.says), "\(response.text)")
            }
            let hostNetwork = APIFixture.serviceYAML("web").replacingOccurrences(of: "network: none", with: "network: host")
            let network = try await client.call(.put, "/v1/resources/service/alpha/web", token: token, body: hostNetwork)
            #expect(network.status == .forbidden)
            #expect(try network.error()["field"] as? String == "spec.network")
            let certificate = """
                apiVersion: berth/v1
                kind: Certificate
                metadata: {name: tls, project: alpha}
                spec:
                  dnsNames: [shop.example.org]
                  target: {hostPath: /etc}
                  files: {certificate: passwd, key: shadow}
                """
            let cert = try await client.call(.put, "/v1/resources/certificate/alpha/tls", token: token, body: certificate)
            #expect(cert.status == .forbidden)
            #expect(try cert.error()["field"] as? String == "spec.target.hostPath")
            let bindVolume = "apiVersion: berth/v1\nkind: Volume\nmetadata: {name: etc, project: alpha}\nspec: {options: {type: none, o: bind, device: /etc}}\n"
            let volume = try await client.call(.put, "/v1/resources/volume/alpha/etc", token: token, body: bindVolume)
            #expect(volume.status == .forbidden)
            #expect(try volume.error()["field"] as? String == "spec.options.device")
        }
        #expect(try await fixture.store.resources(kind: nil, project: nil, includeDeleted: true).isEmpty)
        await fixture.finish()
    }

    @Test func theSameDocumentsAreTakenOnceThePolicyAllowsThemButNeverASymlinkOut() async throws {
        let fixture = try await APIFixture()
        let folder = try HostFolder(in: fixture)
        try declarePolicy(fixture, "{hostPaths: [\"\(folder.path)\"], hostNetwork: true, envFromController: [PATH]}")
        try await fixture.test { client in
            let token = fixture.tokens["resources-alpha"]
            let allowed = APIFixture.serviceYAML("web", extra: "  volumes: [\"\(folder.path)/data:/data\"]\n  env: {SEARCH: {fromEnv: PATH}}")
            let taken = try await client.call(.put, "/v1/resources/service/alpha/web", token: token, body: allowed)
            #expect(taken.status == .created, "\(taken.text)")
            #expect(try taken.decode(ResourceView.self).source == "api")
            let escape = try await client.call(.put, "/v1/resources/service/alpha/web2", token: token, body: APIFixture.serviceYAML("web2", extra: "  volumes: [\"\(folder.path)/escape/shadow:/x\"]"))
            #expect(escape.status == .forbidden)
            #expect(escape.errorMessage().contains("(/etc/shadow) is not allowed"), "\(escape.text)")
            // An admin token is the operator's: not held to the policy.
            let admin = try await client.call(.put, "/v1/resources/service/alpha/web3", token: fixture.tokens["admin"], body: APIFixture.serviceYAML("web3", extra: "  volumes: [\"/:/host\"]"))
            #expect(admin.status == .created, "an admin is the operator: \(admin.text)")
            #expect(try admin.decode(ResourceView.self).source == "admin")
        }
        await fixture.finish()
    }

    @Test func jobsAreHeldToThePolicyAndMountOnlyTheirOwnProjectsVolumes() async throws {
        let fixture = try await APIFixture()
        try declarePolicy(fixture, "{images: [\"localhost/berth-busybox:*\"], maxResources: {containerMemory: 64Mi, activeJobs: 1}}")
        try await fixture.test { client in
            let token = fixture.tokens["jobs-alpha"]
            let limited = "  resources: {memory: 32Mi}"
            let probes: [(extra: String, field: String, status: HTTPResponse.Status)] = [
                ("  env: {STORE: {fromFile: \(fixture.directory.path)/berth.db}}\n" + limited, "spec.env.STORE", .forbidden),
                ("  env: {HOME_OF_CONTROLLER: {fromEnv: HOME}}\n" + limited, "spec.env.HOME_OF_CONTROLLER", .forbidden),
                ("  env: {ZERO: {fromFile: /dev/zero}}\n" + limited, "spec.env.ZERO", .forbidden),
                ("  resources: {memory: 1Gi}", "spec.resources.memory", .forbidden),
                ("", "spec.resources.memory", .forbidden),
                ("  volumes: [\"prod-db:/steal\"]\n" + limited, "spec.volumes[0]", .unprocessableContent),
            ]
            for probe in probes {
                let response = try await client.call(.post, "/v1/jobs", token: token, body: APIFixture.jobYAML("probe", extra: probe.extra))
                #expect(response.status == probe.status, "\(probe.extra): \(response.text)")
                #expect(try response.error()["field"] as? String == probe.field, "\(response.text)")
            }
            let other = APIFixture.jobYAML("probe", extra: limited).replacingOccurrences(of: "localhost/berth-busybox:latest", with: "evil.example.com/miner:1")
            let image = try await client.call(.post, "/v1/jobs", token: token, body: other)
            #expect(image.status == .forbidden)
            #expect(try image.error()["field"] as? String == "spec.image")

            // Its own project's volume, within the limits: taken; a second job is over activeJobs.
            let good = try await client.call(.post, "/v1/jobs", token: token, body: APIFixture.jobYAML("good", extra: "  volumes: [\"data:/data\"]\n" + limited))
            #expect(good.status == .created, "\(good.text)")
            let second = try await client.call(.post, "/v1/jobs", token: token, body: APIFixture.jobYAML("second", extra: limited))
            #expect(second.status == .forbidden)
            #expect(second.errorMessage().contains("policy.maxResources.activeJobs: 1"), "\(second.text)")
        }
        let jobs = try await fixture.store.jobs(filter: JobFilter(project: "alpha"), page: PageRequest())
        #expect(jobs.items.map(\.name) == ["good"])
        await fixture.finish()
    }

    @Test func projectsAreTheOperatorsToWriteAndTheirOwnProjectsToRead() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let tenant = "apiVersion: berth/v1\nkind: Project\nmetadata: {name: tenant}\nspec: {defaultResources: {memory: 4Mi}}\n"
            // A token limited to project default used to rewrite any Project (all live in default).
            let defaultToken = try await fixture.store.createToken(name: "default-writer", scopes: [.resourcesWrite], project: "default", expiresAt: nil, now: Date()).token
            let limited = try await client.call(.put, "/v1/resources/project/default/tenant", token: defaultToken, body: tenant)
            #expect(limited.status == .forbidden, "\(limited.text)")
            let unlimited = try await client.call(.put, "/v1/resources/project/default/tenant", token: fixture.tokens["resources"], body: tenant)
            #expect(unlimited.status == .forbidden)
            #expect(unlimited.errorMessage().contains("admin"), "\(unlimited.text)")
            let admin = try await client.call(.put, "/v1/resources/project/default/tenant", token: fixture.tokens["admin"], body: tenant)
            #expect(admin.status == .created, "\(admin.text)")

            // A limited token lists its own Project and no other.
            let alphaList = try await client.call(.get, "/v1/resources?kind=project", token: fixture.tokens["read-alpha"]).decode(ItemsView<ResourceView>.self)
            #expect(alphaList.items.map(\.name) == ["alpha"])
            let defaultList = try await client.call(.get, "/v1/resources", token: defaultToken).decode(ItemsView<ResourceView>.self)
            #expect(!defaultList.items.contains { $0.kind == .project }, "\(defaultList.items.map(\.name))")
            let tenantShown = try await client.call(.get, "/v1/resources/project/default/tenant", token: fixture.tokens["read-alpha"])
            #expect(tenantShown.status == .forbidden)
        }
        await fixture.finish()
    }

    @Test func jobAnswersShowEnvNamesButNeverLiteralValues() async throws {
        let fixture = try await APIFixture()
        let secret = "s3cr3t-\(UUID().uuidString)"
        try await fixture.test { client in
            let submitted = try await client.call(.post, "/v1/jobs", token: fixture.tokens["jobs"], body: APIFixture.jobYAML("j", extra: "  env: {API_KEY: \"\(secret)\", MODE: fast}"))
            #expect(submitted.status == .created)
            let job = try submitted.decode(JobView.self)
            let shown = try await client.call(.get, "/v1/jobs/\(job.id)", token: fixture.tokens["read"])
            let listed = try await client.call(.get, "/v1/jobs", token: fixture.tokens["read"])
            for answer in [submitted, shown, listed] {
                #expect(!answer.text.contains(secret), "\(answer.text)")
                #expect(!answer.text.contains("fast"))
                #expect(answer.text.contains("API_KEY"))
            }
            #expect(job.spec.container.env["API_KEY"] == .hidden)
        }
        // The worker still gets the value: the store keeps it.
        let stored = try await fixture.store.jobs(filter: JobFilter(), page: PageRequest()).items.first
        #expect(stored?.spec.container.env["API_KEY"] == .literal(secret))
        await fixture.finish()
    }
}

extension PolicyRouteTests {
    @Test func containerOptionsThatWidenAreRefusedToAProjectWriterUntilThePolicyListsThem() async throws {
        let fixture = try await APIFixture()
        let probes: [(extra: String, field: String, says: String)] = [
            ("  capAdd: [SYS_ADMIN]", "spec.capAdd[0]", "adding capability SYS_ADMIN is not allowed for API-written resources of project alpha (policy.capabilities)"),
            ("  devices: [/dev/fuse]", "spec.devices[0]", "host device /dev/fuse is not allowed"),
            ("  sysctls: {net.ipv4.ip_unprivileged_port_start: \"0\"}", "spec.sysctls.net.ipv4.ip_unprivileged_port_start", "(policy.sysctls)"),
            ("  securityOpt: [\"seccomp=unconfined\"]", "spec.securityOpt[0]", "security option seccomp=unconfined is not allowed"),
            ("  logging: {driver: gelf, options: {gelf-address: \"udp://logs.example.org:12201\"}}", "spec.logging.driver", "(policy.logDrivers: json-file, local, none)"),
            ("  ulimits: {rtprio: 99}", "spec.ulimits.rtprio", "ulimit rtprio is not allowed"),
        ]
        try await fixture.test { client in
            for probe in probes {
                let service = try await client.call(.put, "/v1/resources/service/alpha/web", token: fixture.tokens["resources-alpha"], body: APIFixture.serviceYAML("web", extra: probe.extra))
                #expect(service.status == .forbidden, "\(probe.extra): \(service.text)")
                #expect(try service.error()["code"] as? String == "policy")
                #expect(try service.error()["field"] as? String == probe.field, "\(service.text)")
                #expect(service.errorMessage().contains(probe.says), "\(service.text)")
                let job = try await client.call(.post, "/v1/jobs", token: fixture.tokens["jobs-alpha"], body: APIFixture.jobYAML("probe", extra: probe.extra))
                #expect(job.status == .forbidden, "\(probe.extra): \(job.text)")
                #expect(try job.error()["field"] as? String == probe.field, "\(job.text)")
            }
            // Options that narrow what a container may do need no policy.
            let hardened = "  capDrop: [ALL]\n  capAdd: [NET_BIND_SERVICE]\n  readOnlyRootFilesystem: true\n  pidsLimit: 64\n  securityOpt: [no-new-privileges]\n  tmpfs: [/tmp]"
            let taken = try await client.call(.put, "/v1/resources/service/alpha/hardened", token: fixture.tokens["resources-alpha"], body: APIFixture.serviceYAML("hardened", extra: hardened))
            #expect(taken.status == .created, "\(taken.text)")
        }
        try declarePolicy(
            fixture,
            """
            {capabilities: [SYS_ADMIN], devices: [/dev/fuse], sysctls: ["net.ipv4.*"], securityOpt: ["seccomp=unconfined"], logDrivers: [json-file, gelf], ulimits: [nofile, rtprio]}
            """)
        try await fixture.test { client in
            for (index, probe) in probes.enumerated() {
                let service = try await client.call(
                    .put, "/v1/resources/service/alpha/web\(index)", token: fixture.tokens["resources-alpha"], body: APIFixture.serviceYAML("web\(index)", extra: probe.extra))
                #expect(service.status == .created, "\(probe.extra): \(service.text)")
            }
        }
        await fixture.finish()
    }
}
