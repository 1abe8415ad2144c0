import Foundation
import Testing
@testable import BerthCore

/// A document of project `shop` from its JSON text.
private func resource(_ kind: String, _ spec: String, name: String = "thing") throws -> Resource {
    try Resource(json: #"{"apiVersion": "berth/v1", "kind": "\#(kind)", "metadata": {"name": "\#(name)", "project": "shop"}, "spec": \#(spec)}"#)
}

/// Project `shop`'s spec with `policy` (JSON), read as a manifest would be.
private func project(policy: String?, extra: String = "") throws -> ProjectSpec {
    let fields = [policy.map { #""policy": \#($0)"# }, extra.isEmpty ? nil : extra].compactMap { $0 }.joined(separator: ", ")
    let document = try Resource(json: #"{"apiVersion": "berth/v1", "kind": "Project", "metadata": {"name": "shop"}, "spec": {\#(fields)}}"#)
    guard case .project(let spec) = document.spec else { throw ValidationError("not a project") }
    return spec
}

/// Symlinks of a pretend host: `/srv/shop/link` → `/etc`, `/srv/shop/up` → `/`, `/var/run` → `/run`.
private let symlinks: @Sendable (String) -> String = { path in
    for (link, target) in [("/srv/shop/link", "/etc"), ("/srv/shop/up", "/"), ("/var/run", "/run")] where HostPath.isWithin(path, link) {
        let rest = path.dropFirst(link.count)
        return HostPath.normalize(target + "/" + rest) ?? path
    }
    return path
}

/// The fields `writer` is refused on for `document` in project `shop` declared by `spec`; empty
/// when it is allowed. Admins and (unless the policy applies to all) manifests are not checked.
private func refusals(_ document: Resource, _ spec: ProjectSpec?, writer: PolicyWriter, services: [ServiceSpec] = [], activeJobs: Int = 0) -> [String] {
    guard (spec?.policy ?? ProjectPolicy()).binds(writer) else { return [] }
    let check = PolicyCheck(project: "shop", spec: spec, alsoNeverAllowed: ["/var/lib/berth"], resolve: symlinks)
    return check.check(document, projectServices: services, activeJobs: activeJobs).map(\.field)
}

/// One rule: a document refused (at `field`) by the default policy or by `refusingPolicy`, and
/// a policy that allows it.
struct PolicyCase: CustomTestStringConvertible, Sendable {
    var name: String
    var kind: String
    var spec: String
    var field: String
    var allowingPolicy: String
    var refusingPolicy = "{}"
    var testDescription: String { name }
}

private let worker = #""image": "example/worker:1""#

@Suite struct PolicyCheckTests {
    static let cases: [PolicyCase] = [
        PolicyCase(name: "bind mount", kind: "Service", spec: #"{\#(worker), "volumes": ["/srv/shop/data:/data"]}"#, field: "spec.volumes[0]", allowingPolicy: #"{"hostPaths": ["/srv/shop"]}"#),
        PolicyCase(name: "fromFile", kind: "Job", spec: #"{\#(worker), "env": {"KEY": {"fromFile": "/srv/shop/key"}}}"#, field: "spec.env.KEY", allowingPolicy: #"{"hostPaths": ["/srv/shop/"]}"#),
        PolicyCase(
            name: "certificate folder", kind: "Certificate", spec: #"{"dnsNames": ["shop.example.org"], "target": {"hostPath": "/srv/shop/tls"}}"#, field: "spec.target.hostPath",
            allowingPolicy: #"{"hostPaths": ["/srv"]}"#),
        PolicyCase(
            name: "volume device", kind: "Volume", spec: #"{"options": {"type": "none", "o": "bind", "device": "/srv/shop/db"}}"#, field: "spec.options.device",
            allowingPolicy: #"{"hostPaths": ["/srv/shop"]}"#),
        PolicyCase(name: "volume driver", kind: "Volume", spec: #"{"driver": "rexray"}"#, field: "spec.driver", allowingPolicy: #"{"volumeDrivers": ["local", "rexray"]}"#),
        PolicyCase(
            name: "network driver", kind: "Network", spec: #"{"driver": "macvlan", "options": {"parent": "eth0"}}"#, field: "spec.driver", allowingPolicy: #"{"networkDrivers": ["bridge", "macvlan"]}"#
        ),
        PolicyCase(name: "external network", kind: "Network", spec: #"{"external": true, "networkName": "other_default"}"#, field: "spec.external", allowingPolicy: #"{"externalNetworks": true}"#),
        PolicyCase(name: "external volume", kind: "Volume", spec: #"{"external": true, "volumeName": "other_data"}"#, field: "spec.external", allowingPolicy: #"{"externalVolumes": true}"#),
        PolicyCase(name: "host network", kind: "Service", spec: #"{\#(worker), "network": "host"}"#, field: "spec.network", allowingPolicy: #"{"hostNetwork": true}"#),
        PolicyCase(
            name: "cron template network", kind: "CronJob", spec: #"{"schedule": "@hourly", "jobTemplate": {\#(worker), "network": "host"}}"#, field: "spec.jobTemplate.network",
            allowingPolicy: #"{"hostNetwork": true}"#),
        PolicyCase(name: "fromEnv", kind: "Job", spec: #"{\#(worker), "env": {"DB": {"fromEnv": "SHOP_DB_URL"}}}"#, field: "spec.env.DB", allowingPolicy: #"{"envFromController": ["SHOP_DB_URL"]}"#),
        PolicyCase(
            name: "image", kind: "Job", spec: #"{"image": "evil.example.com/miner:1"}"#, field: "spec.image", allowingPolicy: #"{"images": ["evil.example.com/*"]}"#,
            refusingPolicy: #"{"images": ["example/*"]}"#),
        PolicyCase(
            name: "container memory", kind: "Service", spec: #"{\#(worker), "resources": {"memory": "2Gi"}}"#, field: "spec.resources.memory",
            allowingPolicy: #"{"maxResources": {"containerMemory": "4Gi"}}"#, refusingPolicy: #"{"maxResources": {"containerMemory": "1Gi"}}"#),
        PolicyCase(
            name: "container cpus", kind: "Job", spec: #"{\#(worker), "resources": {"cpus": "3"}}"#, field: "spec.resources.cpus", allowingPolicy: #"{"maxResources": {"containerCpus": "4"}}"#,
            refusingPolicy: #"{"maxResources": {"containerCpus": "2"}}"#),
        // Completion webhooks (issue 20): the target host, and the secret file the controller reads.
        PolicyCase(
            name: "webhook host", kind: "Job", spec: #"{\#(worker), "notify": {"url": "https://app.example.com/hook", "secretFile": "/srv/shop/hook.key"}}"#,
            field: "spec.notify.url", allowingPolicy: #"{"webhookHosts": ["app.example.com:443"], "hostPaths": ["/srv/shop"]}"#,
            refusingPolicy: #"{"webhookHosts": ["app.example.com:8443"], "hostPaths": ["/srv/shop"]}"#),
        PolicyCase(
            name: "webhook secret file", kind: "Job", spec: #"{\#(worker), "notify": {"url": "http://hooks.internal:8080/berth", "secretFile": "/etc/shadow"}}"#,
            field: "spec.notify.secretFile", allowingPolicy: #"{"webhookHosts": ["hooks.internal:8080"], "hostPaths": ["/etc/shadow"]}"#,
            refusingPolicy: #"{"webhookHosts": ["HOOKS.internal:8080"], "hostPaths": ["/srv/shop"]}"#),
        PolicyCase(
            name: "cron webhook host", kind: "CronJob",
            spec: #"{"schedule": "@every 1h", "jobTemplate": {\#(worker), "notify": {"url": "http://127.0.0.1:7700/", "secretFile": "/srv/shop/k"}}}"#,
            field: "spec.jobTemplate.notify.url", allowingPolicy: #"{"webhookHosts": ["127.0.0.1:7700"], "hostPaths": ["/srv/shop"]}"#,
            refusingPolicy: #"{"hostPaths": ["/srv/shop"]}"#),
    ]

    @Test(arguments: cases)
    func eachRuleRefusesAPIWritersByDefaultAndAllowsThemWhenThePolicySays(_ rule: PolicyCase) throws {
        let document = try resource(rule.kind, rule.spec)
        let refusing = try project(policy: rule.refusingPolicy)
        #expect(refusals(document, refusing, writer: .api) == [rule.field])
        #expect(refusals(document, try project(policy: rule.allowingPolicy), writer: .api) == [])
        // The operator is trusted: an admin token, and manifests unless the policy applies to all.
        #expect(refusals(document, refusing, writer: .admin) == [])
        #expect(refusals(document, refusing, writer: .manifest) == [])
        let bindingAll = try project(policy: "{\"appliesTo\": \"all\"" + (rule.refusingPolicy == "{}" ? "}" : ", " + rule.refusingPolicy.dropFirst()))
        #expect(refusals(document, bindingAll, writer: .manifest) == [rule.field])
        #expect(refusals(document, bindingAll, writer: .admin) == [])
    }

    @Test(arguments: [
        ("/srv/shop/../../etc", "/etc is outside the prefix once .. is resolved"),
        ("/srv/shop/link/passwd", "a symlink under the prefix pointing out of it"),
        ("/srv/shop/up", "a symlink to /"),
        ("/SRV/shop/data", "names differ in case"),
        ("/srv/shopping", "a name that only starts like the prefix"),
        ("/srv", "a folder holding the prefix"),
    ])
    func pathTricksDoNotEscapeTheAllowedPrefix(_ path: String, _ why: String) throws {
        let spec = try project(policy: #"{"hostPaths": ["/srv/shop/"]}"#)
        let document = try resource("Service", #"{\#(worker), "volumes": ["\#(path):/data"]}"#)
        #expect(refusals(document, spec, writer: .api) == ["spec.volumes[0]"], "\(why)")
    }

    @Test(arguments: ["/srv/shop", "/srv/shop/", "/srv//shop/./data/", "/srv/shop/data/../cache"])
    func pathsInsideTheAllowedPrefixAreAllowedHoweverTheyAreWritten(_ path: String) throws {
        let spec = try project(policy: #"{"hostPaths": ["/srv/shop"]}"#)
        let document = try resource("Service", #"{\#(worker), "volumes": ["\#(path):/data"]}"#)
        #expect(refusals(document, spec, writer: .api) == [])
    }

    @Test(arguments: ["/", "/proc", "/proc/1/root", "/sys/kernel", "/dev", "/dev/zero", "/var/run/docker.sock", "/run/docker.sock", "/var/lib/berth/berth.sqlite", "/var/lib"])
    func someHostPathsAreNeverAllowedToAPIWritersWhateverThePolicy(_ path: String) throws {
        let spec = try project(policy: #"{"hostPaths": ["/"]}"#)
        let mount = try resource("Service", #"{\#(worker), "volumes": ["\#(path):/host"]}"#)
        let file = try resource("Job", #"{\#(worker), "env": {"X": {"fromFile": "\#(path)"}}}"#)
        let certificate = try resource("Certificate", #"{"dnsNames": ["a.example.org"], "target": {"hostPath": "\#(path)"}}"#)
        #expect(refusals(mount, spec, writer: .api) == ["spec.volumes[0]"])
        #expect(refusals(file, spec, writer: .api) == ["spec.env.X"])
        #expect(refusals(certificate, spec, writer: .api) == ["spec.target.hostPath"])
        #expect(refusals(mount, spec, writer: .admin) == [])
    }

    @Test func messagesNameThePathTheProjectAndTheRule() throws {
        let check = PolicyCheck(project: "shop", spec: nil)
        let root = check.check(try resource("Service", #"{\#(worker), "volumes": ["/srv/x:/x", "/:/host"]}"#))
        #expect(
            root.map(\.description) == [
                "spec.volumes[0]: host path /srv/x is not allowed for API-written resources of project shop (policy.hostPaths)",
                "spec.volumes[1]: host path / is never allowed for API-written resources (it holds /proc)",
            ])
        let tricked = PolicyCheck(project: "shop", spec: try project(policy: #"{"hostPaths": ["/srv/shop"]}"#), writer: "API-submitted jobs", resolve: symlinks)
            .check(try resource("Job", #"{\#(worker), "env": {"A": {"fromFile": "/srv/shop/link/shadow"}}}"#))
        #expect(tricked.map(\.message) == ["host path /srv/shop/link/shadow (/etc/shadow) is not allowed for API-submitted jobs of project shop (policy.hostPaths)"])
    }

    @Test func containerLimitsCountTheProjectDefaultsAndAreRequiredWhenBounded() throws {
        let bounded = #"{"maxResources": {"containerMemory": "1Gi", "containerCpus": "1"}}"#
        let none = try resource("Job", worker.wrappedInBraces)
        #expect(refusals(none, try project(policy: bounded), writer: .api) == ["spec.resources.memory", "spec.resources.cpus"])
        let withDefaults = try project(policy: bounded, extra: #""defaultResources": {"memory": "512Mi", "cpus": "500m"}"#)
        #expect(refusals(none, withDefaults, writer: .api) == [])
        let tooBigDefaults = try project(policy: bounded, extra: #""defaultResources": {"memory": "2Gi"}"#)
        #expect(refusals(none, tooBigDefaults, writer: .api) == ["spec.resources.memory", "spec.resources.cpus"])
    }

    @Test func projectTotalsCountEveryServiceOfTheProjectOnceWritten() throws {
        let spec = try project(policy: #"{"maxResources": {"replicas": 4, "projectMemory": "1Gi", "projectCpus": "2"}}"#)
        let web = try resource("Service", #"{\#(worker), "replicas": 3, "resources": {"memory": "256Mi", "cpus": "500m"}}"#)
        guard case .service(let webSpec) = web.spec else { return }
        var other = webSpec
        other.replicas = 1
        #expect(refusals(web, spec, writer: .api, services: [webSpec, other]) == [])
        other.replicas = 2
        #expect(refusals(web, spec, writer: .api, services: [webSpec, other]) == ["spec.replicas", "spec.resources.memory", "spec.resources.cpus"])
        // A bound on the project's memory needs every container to declare some.
        let unbounded = try resource("Service", worker.wrappedInBraces)
        #expect(refusals(unbounded, spec, writer: .api, services: []) == ["spec.resources.memory", "spec.resources.cpus"])
    }

    @Test func activeJobsAreBoundedAtSubmission() throws {
        let spec = try project(policy: #"{"maxResources": {"activeJobs": 2}}"#)
        let job = try resource("Job", worker.wrappedInBraces)
        #expect(refusals(job, spec, writer: .api, activeJobs: 1) == [])
        #expect(refusals(job, spec, writer: .api, activeJobs: 2) == ["metadata.project"])
    }

    @Test func policiesAreReadWithTheirFieldsCheckedAndRoundTrip() throws {
        let spec = try project(policy: #"{"appliesTo": "all", "hostPaths": ["/srv/a/../b/"], "images": ["busybox:*"], "maxResources": {"containerMemory": "1Gi"}}"#)
        #expect(spec.policy?.hostPaths == ["/srv/b"])
        #expect(spec.policy?.appliesTo == .all)
        let encoded = try Resource(metadata: ResourceMetadata(name: "shop"), spec: .project(spec)).jsonText()
        guard case .project(let again) = try Resource(json: encoded).spec else { throw ValidationError("not a project") }
        #expect(again == spec)
        for (bad, field) in [
            (#"{"hostPaths": ["srv/shop"]}"#, "spec.policy.hostPaths[0]"),
            (#"{"appliesTo": "everyone"}"#, "spec.policy.appliesTo"),
            (#"{"envFromController": ["1BAD"]}"#, "spec.policy.envFromController[0]"),
            (#"{"maxResources": {"memory": "1Gi"}}"#, "spec.policy.maxResources.memory"),
            (#"{"hostNetwrk": true}"#, "spec.policy.hostNetwrk"),
        ] {
            #expect(throws: ValidationError.self, "\(bad)") { try project(policy: bad) }
            do {
                _ = try project(policy: bad)
            } catch let error as ValidationError {
                #expect(error.issues.map(\.path) == [field])
            }
        }
    }

    @Test(arguments: [
        ("busybox:*", "busybox:1.36", true), ("busybox:*", "busybox", false), ("registry.example.com/shop/*", "registry.example.com/shop/app/worker:2", true),
        ("registry.example.com/shop/*", "registry.example.com/shopping/app", false), ("*", "anything/at:all", true), ("a*b*c", "aXbYbZc", true), ("a*b*c", "aXbYcZ", false),
    ])
    func imagePatternsMatchWholeReferences(_ pattern: String, _ image: String, _ matches: Bool) {
        #expect(ImagePattern.matches(image, pattern) == matches)
    }

    @Test func manifestsOfAProjectWhosePolicyAppliesToAllAreHeldToIt() throws {
        var shop = try project(policy: #"{"appliesTo": "all"}"#)
        let projectDocument = Resource(metadata: ResourceMetadata(name: "shop"), spec: .project(shop))
        var mount = try resource("Service", #"{\#(worker), "volumes": ["/etc:/etc"]}"#)
        mount.location = SourceLocation(file: "shop.yaml", line: 7, column: 1)
        let issues = PolicyCheck.manifestIssues(try DesiredState.validate([projectDocument, mount]))
        #expect(issues.map(\.description) == ["shop.yaml:7:1: Service shop/thing: spec.volumes[0]: host path /etc is not allowed for manifests of project shop (policy.hostPaths)"])
        shop.policy?.appliesTo = .api
        #expect(PolicyCheck.manifestIssues(try DesiredState.validate([Resource(metadata: ResourceMetadata(name: "shop"), spec: .project(shop)), mount])) == [])
    }
}

// MARK: Container options

extension PolicyCheckTests {
    /// The container options that widen what a container may do to its host, one rule each.
    static let optionCases: [PolicyCase] = [
        PolicyCase(name: "capAdd", kind: "Service", spec: #"{\#(worker), "capAdd": ["NET_ADMIN"]}"#, field: "spec.capAdd[0]", allowingPolicy: #"{"capabilities": ["cap_net_admin"]}"#),
        PolicyCase(
            name: "capAdd with ALL allowed", kind: "Job", spec: #"{\#(worker), "capAdd": ["CHOWN", "SYS_ADMIN"]}"#, field: "spec.capAdd[1]", allowingPolicy: #"{"capabilities": ["ALL"]}"#,
            refusingPolicy: #"{"capabilities": ["NET_ADMIN"]}"#),
        PolicyCase(
            name: "capAdd ALL", kind: "Service", spec: #"{\#(worker), "capAdd": ["ALL"]}"#, field: "spec.capAdd[0]", allowingPolicy: #"{"capabilities": ["ALL"]}"#,
            refusingPolicy: #"{"capabilities": ["NET_ADMIN", "SYS_ADMIN"]}"#),
        PolicyCase(
            name: "cron template capAdd", kind: "CronJob", spec: #"{"schedule": "@hourly", "jobTemplate": {\#(worker), "capAdd": ["SYS_PTRACE"]}}"#, field: "spec.jobTemplate.capAdd[0]",
            allowingPolicy: #"{"capabilities": ["SYS_PTRACE"]}"#),
        PolicyCase(name: "device", kind: "Job", spec: #"{\#(worker), "devices": ["/dev/fuse"]}"#, field: "spec.devices[0]", allowingPolicy: #"{"devices": ["/dev/fuse"]}"#),
        PolicyCase(
            name: "device in an allowed folder", kind: "Service", spec: #"{\#(worker), "devices": ["/dev/dri/renderD128:/dev/dri/renderD128:rw"]}"#, field: "spec.devices[0]",
            allowingPolicy: #"{"devices": ["/dev/dri/"]}"#, refusingPolicy: #"{"devices": ["/dev/fuse", "/dev/driver"]}"#),
        PolicyCase(
            name: "sysctl", kind: "Service", spec: #"{\#(worker), "sysctls": {"net.core.somaxconn": "1024"}}"#, field: "spec.sysctls.net.core.somaxconn",
            allowingPolicy: #"{"sysctls": ["net.core.somaxconn"]}"#),
        PolicyCase(
            name: "sysctl under a prefix", kind: "Job", spec: #"{\#(worker), "sysctls": {"net.ipv4.tcp_syncookies": "0"}}"#, field: "spec.sysctls.net.ipv4.tcp_syncookies",
            allowingPolicy: #"{"sysctls": ["net.ipv4.*"]}"#, refusingPolicy: #"{"sysctls": ["net.ipv6.*", "net.ipv4"]}"#),
        PolicyCase(
            name: "seccomp unconfined", kind: "Service", spec: #"{\#(worker), "securityOpt": ["no-new-privileges", "seccomp=unconfined"]}"#, field: "spec.securityOpt[1]",
            allowingPolicy: #"{"securityOpt": ["seccomp:unconfined"]}"#),
        PolicyCase(
            name: "apparmor unconfined", kind: "Job", spec: #"{\#(worker), "securityOpt": ["apparmor=unconfined"]}"#, field: "spec.securityOpt[0]",
            allowingPolicy: #"{"securityOpt": ["apparmor=unconfined"]}"#, refusingPolicy: #"{"securityOpt": ["seccomp=unconfined"]}"#),
        PolicyCase(
            name: "label disable", kind: "Service", spec: #"{\#(worker), "securityOpt": ["label:disable"]}"#, field: "spec.securityOpt[0]", allowingPolicy: #"{"securityOpt": ["label=disable"]}"#),
        PolicyCase(
            name: "systempaths unconfined", kind: "Service", spec: #"{\#(worker), "securityOpt": ["systempaths=unconfined"]}"#, field: "spec.securityOpt[0]",
            allowingPolicy: #"{"securityOpt": ["systempaths=unconfined"]}"#),
        PolicyCase(
            name: "seccomp profile", kind: "Job", spec: #"{\#(worker), "securityOpt": ["seccomp={\"defaultAction\": \"SCMP_ACT_ALLOW\"}"]}"#, field: "spec.securityOpt[0]",
            allowingPolicy: #"{"securityOpt": ["seccomp={\"defaultAction\": \"SCMP_ACT_ALLOW\"}"]}"#, refusingPolicy: #"{"securityOpt": ["seccomp=unconfined"]}"#),
        PolicyCase(
            name: "log driver", kind: "Service", spec: #"{\#(worker), "logging": {"driver": "syslog", "options": {"syslog-address": "udp://logs.example.org:514"}}}"#, field: "spec.logging.driver",
            allowingPolicy: #"{"logDrivers": ["json-file", "syslog"]}"#),
        PolicyCase(
            name: "ulimit rtprio", kind: "Job", spec: #"{\#(worker), "ulimits": {"nofile": 4096, "rtprio": 99}}"#, field: "spec.ulimits.rtprio", allowingPolicy: #"{"ulimits": ["nofile", "rtprio"]}"#),
        PolicyCase(
            name: "ulimit nofile", kind: "Service", spec: #"{\#(worker), "ulimits": {"nofile": 4096}}"#, field: "spec.ulimits.nofile", allowingPolicy: "{}", refusingPolicy: #"{"ulimits": ["nproc"]}"#),
    ]

    @Test(arguments: optionCases)
    func eachContainerOptionThatWidensIsRefusedToAPIWritersUnlessThePolicySays(_ rule: PolicyCase) throws {
        try eachRuleRefusesAPIWritersByDefaultAndAllowsThemWhenThePolicySays(rule)
    }

    @Test func optionsThatNarrowOrStayInsideTheContainerNeedNoPolicy() throws {
        let hardened = try resource(
            "Service",
            #"""
            {\#(worker), "capDrop": ["ALL"], "capAdd": ["CHOWN", "CAP_NET_BIND_SERVICE", "setuid", "SETGID"], "readOnlyRootFilesystem": true,
             "pidsLimit": 100, "securityOpt": ["no-new-privileges"], "tmpfs": ["/run", "/tmp:size=64m"], "shmSize": "1Gi", "tty": true,
             "stdinOpen": true, "hostname": "web", "dns": ["1.1.1.1"], "dnsSearch": ["example.org"], "extraHosts": ["db:10.0.0.5"],
             "ulimits": {"nofile": {"soft": 1024, "hard": 65536}, "nproc": 512, "core": 0}, "logging": {"driver": "local", "options": {"max-size": "10m"}}}
            """#)
        #expect(refusals(hardened, nil, writer: .api) == [])
        for driver in ["json-file", "local", "none"] {
            #expect(refusals(try resource("Job", #"{\#(worker), "logging": {"driver": "\#(driver)"}}"#), nil, writer: .api) == [])
        }
        let engineDefaultDriver = try resource("Job", #"{\#(worker), "logging": {"options": {"tag": "x"}}}"#)
        #expect(refusals(engineDefaultDriver, nil, writer: .api) == [], "the engine's default driver is the operator's choice")
    }

    @Test func optionViolationsNameTheFieldTheProjectAndTheRule() throws {
        let spec = try project(policy: #"{"capabilities": ["NET_BIND_SERVICE", "NET_ADMIN"], "devices": ["/dev/fuse"], "sysctls": ["net.core.*"]}"#)
        let check = PolicyCheck(project: "shop", spec: spec)
        let document = try resource(
            "Service",
            #"""
            {\#(worker), "capAdd": ["SYS_ADMIN"], "devices": ["/dev/sda"], "sysctls": {"net.ipv4.ip_forward": "1"},
             "securityOpt": ["seccomp=unconfined"], "logging": {"driver": "gelf"}, "ulimits": {"nice": -1}}
            """#)
        #expect(
            check.check(document).map(\.description) == [
                "spec.capAdd[0]: adding capability SYS_ADMIN is not allowed for API-written resources of project shop (policy.capabilities: NET_BIND_SERVICE, NET_ADMIN)",
                "spec.devices[0]: host device /dev/sda is not allowed for API-written resources of project shop (policy.devices: /dev/fuse)",
                "spec.sysctls.net.ipv4.ip_forward: kernel parameter net.ipv4.ip_forward is not allowed for API-written resources of project shop (policy.sysctls: net.core.*)",
                "spec.securityOpt[0]: security option seccomp=unconfined is not allowed for API-written resources of project shop (policy.securityOpt)",
                "spec.logging.driver: log driver gelf is not allowed for API-written resources of project shop (policy.logDrivers: json-file, local, none)",
                "spec.ulimits.nice: ulimit nice is not allowed for API-written resources of project shop (policy.ulimits: core, cpu, data, fsize, locks, memlock, msgqueue, nofile, nproc, rss, rttime, sigpending, stack)",
            ])
    }

    @Test func aDeviceIsComparedWithItsSymlinksResolved() throws {
        let spec = try project(policy: #"{"devices": ["/etc"]}"#)
        // `/srv/shop/link` is a symlink to `/etc` on the pretend host
        #expect(refusals(try resource("Job", #"{\#(worker), "devices": ["/srv/shop/link/tty0"]}"#), spec, writer: .api) == [])
        let refused = PolicyCheck(project: "shop", spec: try project(policy: #"{"devices": ["/srv/shop"]}"#), resolve: symlinks)
            .check(try resource("Job", #"{\#(worker), "devices": ["/srv/shop/link/tty0"]}"#))
        #expect(refused.map(\.message) == ["host device /srv/shop/link/tty0 (/etc/tty0) is not allowed for API-written resources of project shop (policy.devices: /srv/shop)"])
    }

    @Test func optionPolicyFieldsAreReadNormalizedAndChecked() throws {
        let spec = try project(
            policy: #"""
                {"capabilities": ["cap_net_admin", "ALL"], "devices": ["/dev//dri/"], "sysctls": ["net.core.somaxconn", "net.ipv4.*"],
                 "securityOpt": ["seccomp:unconfined", "label:disable"], "logDrivers": ["json-file", "syslog"], "ulimits": ["nofile", "rtprio"]}
                """#)
        let policy = try #require(spec.policy)
        #expect(policy.capabilities.map(\.description) == ["NET_ADMIN", "ALL"])
        #expect(policy.devices == ["/dev/dri"])
        #expect(policy.sysctls == ["net.core.somaxconn", "net.ipv4.*"])
        #expect(policy.securityOpt.map(\.description) == ["seccomp=unconfined", "label=disable"])
        #expect(policy.logDrivers == ["json-file", "syslog"] && policy.ulimits == ["nofile", "rtprio"])
        let encoded = try Resource(metadata: ResourceMetadata(name: "shop"), spec: .project(spec)).jsonText()
        guard case .project(let again) = try Resource(json: encoded).spec else { throw ValidationError("not a project") }
        #expect(again == spec)
        #expect(ProjectPolicy().logDrivers == ["json-file", "local", "none"])
        #expect(!ProjectPolicy().ulimits.contains("rtprio") && !ProjectPolicy().ulimits.contains("nice") && ProjectPolicy().ulimits.contains("nofile"))
        for (bad, field) in [
            (#"{"capabilities": ["NET_WIZARD"]}"#, "spec.policy.capabilities[0]"),
            (#"{"devices": ["dev/fuse"]}"#, "spec.policy.devices[0]"),
            (#"{"sysctls": ["net.*.x", "net.ipv4.*"]}"#, "spec.policy.sysctls[0]"),
            (#"{"securityOpt": ["privileged"]}"#, "spec.policy.securityOpt[0]"),
            (#"{"logDrivers": [""]}"#, "spec.policy.logDrivers[0]"),
            (#"{"ulimits": ["files"]}"#, "spec.policy.ulimits[0]"),
        ] {
            let error = #expect(throws: ValidationError.self, "\(bad)") { try project(policy: bad) }
            #expect(error?.issues.map(\.path) == [field], "\(bad)")
        }
    }
}

extension String {
    fileprivate var wrappedInBraces: String { "{" + self + "}" }
}

extension Resource {
    /// The document as JSON text, as the store keeps it.
    fileprivate func jsonText() throws -> String {
        String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
    }
}

// MARK: Encrypted env values

/// An age-armored block (of a made-up secret), as a JSON string.
private let encryptedJSON =
    #""-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBMa2YvYVBpdGhFbXpIaVlv\nMm5sdnNrcFAvS3VkdVRjV2NldlNyQ016U1NzCkZaYUhJb3l3eEhFYTEwMWx3R0lZ\nR2lJTVNrdDJZbndlcHhvUXlPUWJjZmMKLS0tIFlTWmtUYS9pZll2V2QrQkxWa0pR\ncVpNdk85NGpkMGRpbkFJbGNUKytkSGcKaAAUYL8TKrWySTjbLoVikMdpr0yoOli+\nZROelIKS/U38zJyBqVYwqXLiWyEnMGZOlA==\n-----END AGE ENCRYPTED FILE-----\n""#

extension PolicyCheckTests {
    @Test(arguments: [
        ("Job", #"{\#(worker), "env": {"TOKEN": \#(encryptedJSON)}}"#, "spec.env.TOKEN"),
        ("Service", #"{\#(worker), "env": {"MODE": "prod", "TOKEN": \#(encryptedJSON)}}"#, "spec.env.TOKEN"),
        ("CronJob", #"{"schedule": "@hourly", "jobTemplate": {\#(worker), "env": {"TOKEN": \#(encryptedJSON)}}}"#, "spec.jobTemplate.env.TOKEN"),
    ])
    func encryptedValuesAreRefusedToAPIWritersUnlessThePolicyDecryptsSecrets(_ kind: String, _ spec: String, _ field: String) throws {
        let document = try resource(kind, spec)
        #expect(document.containerSpec?.env["TOKEN"].map { if case .encrypted = $0 { true } else { false } } == true)
        let defaults = try project(policy: nil)
        #expect(refusals(document, defaults, writer: .api) == [field])
        #expect(refusals(document, try project(policy: #"{"decryptSecrets": false}"#), writer: .api) == [field])
        #expect(refusals(document, try project(policy: #"{"decryptSecrets": true}"#), writer: .api) == [])
        #expect(refusals(document, defaults, writer: .admin) == [])
        let message = PolicyCheck(project: "shop", spec: defaults).check(document).first?.message
        #expect(message == "an age-encrypted value (decrypted by the controller) is not allowed for API-written resources of project shop (policy.decryptSecrets)")
    }

    @Test func manifestsMayUseEncryptedValuesEvenWhenThePolicyAppliesToAll() throws {
        let shop = try project(policy: #"{"appliesTo": "all", "hostPaths": ["/srv/shop"]}"#)
        let projectDocument = Resource(metadata: ResourceMetadata(name: "shop"), spec: .project(shop))
        let service = try resource("Service", #"{\#(worker), "env": {"TOKEN": \#(encryptedJSON), "KEY": {"fromFile": "/etc/key"}}}"#)
        let issues = PolicyCheck.manifestIssues(try DesiredState.validate([projectDocument, service]))
        // The policy still holds the manifest to its other rules.
        #expect(issues.map(\.path) == ["spec.env.KEY"])
    }
}
