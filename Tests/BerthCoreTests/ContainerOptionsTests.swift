import Foundation
import Testing
@testable import BerthCore

/// A service as compose stacks write one, using none of the container options.
private func typicalService() throws -> ServiceSpec {
    try ServiceSpec(
        json: #"""
            {"image": "example/app:1.4", "command": ["gunicorn", "app.wsgi", "--bind", "0.0.0.0:8000"], "replicas": 2,
             "env": {"DEBUG": "0", "SECRET_KEY": {"fromFile": "/run/secrets/app_key"}}, "volumes": ["static:/static", "/srv/config:/config:ro"],
             "ports": ["127.0.0.1:8000:8000"], "healthcheck": {"command": ["wget", "-qO-", "http://127.0.0.1:8000/health"], "interval": "10s"},
             "resources": {"memory": "512Mi", "cpus": 1.5}, "stopGracePeriod": "30s", "noNewPrivileges": true}
            """#)
}

/// A job as the API receives one, using none of the container options.
private func typicalJob() throws -> JobSpec {
    try JobSpec(
        json: #"""
            {"image": "example/worker:3", "command": ["process", "--project", "17"], "env": {"MODE": "package"},
             "activeDeadline": "10m", "backoffLimit": 2, "feedbackPath": "/io/feedback.json", "network": "none"}
            """#)
}

@Suite("Container options")
struct ContainerOptionsTests {
    // MARK: Specs without options hash as before the options existed

    @Test func aServiceWithoutOptionsKeepsItsCanonicalFormAndHash() throws {
        let spec = try typicalService()
        // Golden values computed before the options existed: a spec that uses none of them must
        // keep its `berth.spec-hash` label, or an upgrade would recreate every container.
        #expect(
            SpecHash.canonicalText(spec)
                == #"{"command":["gunicorn","app.wsgi","--bind","0.0.0.0:8000"],"dependsOn":[],"env":{"DEBUG":"0","SECRET_KEY":{"fromFile":"/run/secrets/app_key"}},"healthcheck":{"command":["wget","-qO-","http://127.0.0.1:8000/health"],"interval":"10s","retries":3,"startPeriod":"0s","timeout":"30s"},"image":"example/app:1.4","init":false,"labels":{},"networks":[{"aliases":[],"name":"default"}],"noNewPrivileges":true,"ports":["127.0.0.1:8000:8000/tcp"],"pullPolicy":"IfNotPresent","replicas":1,"resources":{"cpus":"1.5","memory":"512Mi"},"restart":"always","stopGracePeriod":"30s","stopSignal":"SIGTERM","volumes":["static:/static","/srv/config:/config:ro"]}"#
        )
        #expect(SpecHash.of(spec) == "d0cb868863040921")
    }

    @Test func aJobWithoutOptionsKeepsItsHash() throws {
        let job = try typicalJob()
        #expect(
            String(decoding: SpecHash.canonicalJSON(job), as: UTF8.self)
                == #"{"activeDeadline":"10m","backoffLimit":2,"command":["process","--project","17"],"env":{"MODE":"package"},"feedbackPath":"/io/feedback.json","image":"example/worker:3","init":false,"labels":{},"network":"none","noNewPrivileges":false,"nonRetryableExitCodes":[],"priority":0,"pullPolicy":"IfNotPresent","stopGracePeriod":"10s","stopSignal":"SIGTERM","volumes":[]}"#
        )
        #expect(SpecHash.of(job) == "be2bc1aea86980df")
    }
}

/// A spec with every container option set, as JSON.
private let everyOption = #"""
    "logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": 3}},
    "ulimits": {"nofile": {"soft": 1024, "hard": 2048}, "nproc": 512, "core": -1},
    "capAdd": ["NET_ADMIN", "cap_sys_ptrace"], "capDrop": ["ALL"],
    "extraHosts": ["db.local:127.0.0.1", "v6=[::1]"], "tmpfs": ["/run", "/tmp:size=64m,mode=1777"], "shmSize": "256Mi",
    "tty": true, "stdinOpen": true, "sysctls": {"net.core.somaxconn": 1024}, "readOnlyRootFilesystem": true, "pidsLimit": 100,
    "hostname": "web", "dns": ["1.1.1.1", "2606:4700:4700::1111"], "dnsSearch": ["example.org"],
    "devices": ["/dev/fuse", "/dev/null:/dev/mynull:rw"], "securityOpt": ["seccomp=unconfined", "apparmor:unconfined", "label:disable", "no-new-privileges"]
    """#

/// A change to one option of ``typicalService()``, and the fields `SpecHash.changedFields` names for it.
enum OptionChange: String, CaseIterable, Sendable {
    case logging, loggingOption, ulimits, capAdd, capDrop, extraHosts, tmpfs, shmSize, tty, stdinOpen, sysctls
    case readOnlyRootFilesystem, pidsLimit, hostname, dns, dnsSearch, devices, securityOpt

    func apply(to options: inout ContainerOptions) throws {
        switch self {
        case .logging: options.logging = LoggingSpec(driver: "local")
        case .loggingOption: options.logging = LoggingSpec(options: ["max-size": "10m"])
        case .ulimits: options.ulimits["nofile"] = Ulimit(1024)
        case .capAdd: options.capAdd = [try Capability(parsing: "NET_ADMIN")]
        case .capDrop: options.capDrop = [.all]
        case .extraHosts: options.extraHosts = [try ExtraHost(parsing: "db:10.0.0.5")]
        case .tmpfs: options.tmpfs = [try TmpfsMount(parsing: "/run")]
        case .shmSize: options.shmSize = try ByteSize(parsing: "256Mi")
        case .tty: options.tty = true
        case .stdinOpen: options.stdinOpen = true
        case .sysctls: options.sysctls["net.core.somaxconn"] = "1024"
        case .readOnlyRootFilesystem: options.readOnlyRootFilesystem = true
        case .pidsLimit: options.pidsLimit = 100
        case .hostname: options.hostname = "web"
        case .dns: options.dns = ["1.1.1.1"]
        case .dnsSearch: options.dnsSearch = ["example.org"]
        case .devices: options.devices = [try DeviceMapping(parsing: "/dev/fuse")]
        case .securityOpt: options.securityOpt = [try SecurityOption(parsing: "seccomp=unconfined")]
        }
    }

    var changedFields: [String] {
        switch self {
        case .logging: ["logging.driver"]
        case .loggingOption: ["logging.options.max-size"]
        case .ulimits: ["ulimits.nofile.hard", "ulimits.nofile.soft"]
        case .sysctls: ["sysctls.net.core.somaxconn"]
        default: [rawValue]
        }
    }
}

extension ContainerOptionsTests {
    // MARK: Reading

    @Test func readsEveryOptionInItsComposeForm() throws {
        // when
        let spec = try ServiceSpec(json: #"{"image": "example/app:1", "network": "none", \#(everyOption)}"#)

        // then
        let options = spec.container.options
        #expect(options.logging == LoggingSpec(driver: "json-file", options: ["max-size": "10m", "max-file": "3"]))
        #expect(options.ulimits == ["nofile": Ulimit(soft: 1024, hard: 2048), "nproc": Ulimit(512), "core": Ulimit(-1)])
        #expect(options.capAdd.map(\.description) == ["NET_ADMIN", "SYS_PTRACE"])
        #expect(options.capDrop == [.all])
        #expect(options.extraHosts.map(\.description) == ["db.local:127.0.0.1", "v6:[::1]"])
        #expect(options.tmpfs.map(\.description) == ["/run", "/tmp:size=64m,mode=1777"])
        #expect(options.shmSize == ByteSize(bytes: 256 << 20))
        #expect(options.tty && options.stdinOpen && options.readOnlyRootFilesystem)
        #expect(options.sysctls == ["net.core.somaxconn": "1024"])
        #expect(options.pidsLimit == 100)
        #expect(options.hostname == "web")
        #expect(options.dns == ["1.1.1.1", "2606:4700:4700::1111"])
        #expect(options.dnsSearch == ["example.org"])
        #expect(options.devices.map(\.description) == ["/dev/fuse:/dev/fuse:rwm", "/dev/null:/dev/mynull:rw"])
        #expect(options.securityOpt.map(\.description) == ["seccomp=unconfined", "apparmor=unconfined", "label=disable", "no-new-privileges=true"])
    }

    @Test func readsTheShortFormsComposeAlsoAllows() throws {
        // given: a single string for tmpfs, dns and dnsSearch, sysctls as a list, a negative pids limit
        let json = #"""
            {"image": "example/app:1", "tmpfs": "/run", "dns": "9.9.9.9", "dnsSearch": "example.org",
             "sysctls": ["net.core.somaxconn=1024", "net.ipv4.tcp_syncookies=0"], "pidsLimit": -1, "logging": {"options": {"tag": "web"}}}
            """#
        // when
        let options = try ServiceSpec(json: json).container.options
        // then
        #expect(options.tmpfs.map(\.description) == ["/run"])
        #expect(options.dns == ["9.9.9.9"] && options.dnsSearch == ["example.org"])
        #expect(options.sysctls == ["net.core.somaxconn": "1024", "net.ipv4.tcp_syncookies": "0"])
        #expect(options.pidsLimit == -1)
        #expect(options.logging == LoggingSpec(driver: nil, options: ["tag": "web"]))
    }

    @Test func readsTheOptionsOfJobsAndCronJobTemplatesToo() throws {
        // given
        let job = try JobSpec(json: #"{"image": "example/worker:1", "shmSize": "1Gi", "capDrop": ["ALL"]}"#)
        let cron = try Resource(
            json: #"""
                {"apiVersion": "berth/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
                 "spec": {"schedule": "@daily", "jobTemplate": {"image": "example/worker:1", "readOnlyRootFilesystem": true, "tmpfs": ["/tmp"]}}}
                """#)
        // then
        #expect(job.container.options.shmSize == ByteSize(bytes: 1 << 30))
        #expect(job.container.options.capDrop == [.all])
        guard case .cronJob(let spec) = cron.spec else { Issue.record("not a CronJob: \(cron.kind)"); return }
        #expect(spec.jobTemplate.container.options.readOnlyRootFilesystem)
        #expect(spec.jobTemplate.container.options.tmpfs.map(\.path) == ["/tmp"])
    }

    // MARK: Canonical form and hash

    @Test func encodesOnlyTheOptionsThatAreSetAndReadsThemBack() throws {
        // given
        let spec = try ServiceSpec(json: #"{"image": "example/app:1", "network": "none", \#(everyOption)}"#)
        // when
        let text = SpecHash.canonicalText(spec)
        // then: normalized, and read back to the same spec (as the `berth.spec` label is)
        #expect(text.contains(#""capAdd":["NET_ADMIN","SYS_PTRACE"]"#), "\(text)")
        #expect(text.contains(#""ulimits":{"core":{"hard":-1,"soft":-1},"nofile":{"hard":2048,"soft":1024},"nproc":{"hard":512,"soft":512}}"#), "\(text)")
        #expect(text.contains(#""securityOpt":["seccomp=unconfined","apparmor=unconfined","label=disable","no-new-privileges=true"]"#), "\(text)")
        #expect(text.contains(#""extraHosts":["db.local:127.0.0.1","v6:[::1]"]"#), "\(text)")
        #expect(try ServiceSpec(json: text).container == spec.container)
        let job = try JobSpec(json: #"{"image": "example/app:1", \#(everyOption)}"#)
        #expect(try JobSpec(json: String(decoding: SpecHash.canonicalJSON(job), as: UTF8.self)) == job)
    }

    @Test func optionsWrittenWithTheirDefaultsHashAsLeftOut() throws {
        // given
        let explicit = try ServiceSpec(
            json: #"""
                {"image": "example/app:1.4", "command": ["gunicorn", "app.wsgi", "--bind", "0.0.0.0:8000"], "replicas": 2,
                 "env": {"DEBUG": "0", "SECRET_KEY": {"fromFile": "/run/secrets/app_key"}}, "volumes": ["static:/static", "/srv/config:/config:ro"],
                 "ports": ["127.0.0.1:8000:8000"], "healthcheck": {"command": ["wget", "-qO-", "http://127.0.0.1:8000/health"], "interval": "10s"},
                 "resources": {"memory": "512Mi", "cpus": 1.5}, "stopGracePeriod": "30s", "noNewPrivileges": true,
                 "logging": {}, "ulimits": {}, "capAdd": [], "capDrop": [], "extraHosts": [], "tmpfs": [], "tty": false, "stdinOpen": false,
                 "sysctls": {}, "readOnlyRootFilesystem": false, "dns": [], "dnsSearch": [], "devices": [], "securityOpt": [], "hostname": null}
                """#)
        // then
        #expect(explicit == (try typicalService()))
        #expect(SpecHash.of(explicit) == "d0cb868863040921")
    }

    @Test(arguments: OptionChange.allCases)
    func changingAnOptionChangesTheHashAndNamesIt(_ change: OptionChange) throws {
        // given
        let before = try typicalService()
        var after = before
        // when
        try change.apply(to: &after.container.options)
        // then
        #expect(after != before)
        #expect(SpecHash.of(after) != SpecHash.of(before))
        #expect(SpecHash.changedFields(from: before, to: after) == change.changedFields)
        var job = try typicalJob()
        let jobHash = SpecHash.of(job)
        try change.apply(to: &job.container.options)
        #expect(SpecHash.of(job) != jobHash, "a changed Job spec is a new job")
    }

    // MARK: Invalid values

    @Test(arguments: [
        (#""ulimits": {"nofile": {"soft": 4096, "hard": 2048}}"#, "spec.ulimits.nofile.soft", "expected the soft limit to be at most the hard limit, found soft 4096 above hard 2048"),
        (#""ulimits": {"nofile": {"soft": 1024}}"#, "spec.ulimits.nofile.hard", "missing required field \"hard\""),
        (#""ulimits": {"nofile": "many"}"#, "spec.ulimits.nofile", "expected a number (soft and hard limit) or {soft: N, hard: N}, found a string"),
        (#""ulimits": {"nofile": -2}"#, "spec.ulimits.nofile", "expected a limit of 0 or more, or -1 for unlimited, found -2"),
        (
            #""ulimits": {"files": 10}"#, "spec.ulimits.files",
            "expected a ulimit name (core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack), found \"files\""
        ),
        (#""capAdd": ["NET_ADMIN", "NET_WIZARD"]"#, "spec.capAdd[1]", "expected a Linux capability such as NET_ADMIN, SYS_PTRACE or CAP_CHOWN, or ALL, found \"NET_WIZARD\""),
        (#""capAdd": ["NET_ADMIN", "cap_net_admin"]"#, "spec.capAdd[1]", "NET_ADMIN is already listed; list each entry once"),
        (#""capAdd": ["NET_ADMIN"], "capDrop": ["ALL", "NET_ADMIN"]"#, "spec.capDrop[1]", "NET_ADMIN is also in capAdd; list it in only one of them"),
        (#""capDrop": "ALL""#, "spec.capDrop", "expected a list, found string \"ALL\""),
        (#""extraHosts": ["db.local"]"#, "spec.extraHosts[0]", "expected a host entry such as db.local:10.0.0.5"),
        (#""tmpfs": ["/tmp", "/tmp:size=1m"]"#, "spec.tmpfs[1]", "/tmp is already listed"),
        (#""tmpfs": "run""#, "spec.tmpfs", "must be an absolute path in the container"),
        (#""shmSize": "256MB""#, "spec.shmSize", "expected a size such as 512Mi"),
        (#""shmSize": 0"#, "spec.shmSize", "expected a size above 0 such as 256Mi"),
        (#""tty": "yes""#, "spec.tty", "expected a boolean (true or false), found string \"yes\""),
        (#""stdinOpen": 1"#, "spec.stdinOpen", "expected a boolean"),
        (#""readOnlyRootFilesystem": "true""#, "spec.readOnlyRootFilesystem", "expected a boolean"),
        (#""sysctls": {"vm.swappiness": "10"}"#, "spec.sysctls.vm.swappiness", "expected a namespaced kernel parameter such as net.core.somaxconn"),
        (#""sysctls": ["net.core.somaxconn"]"#, "spec.sysctls[0]", "expected NAME=VALUE such as net.core.somaxconn=1024"),
        (#""pidsLimit": 0"#, "spec.pidsLimit", "expected a number of processes above 0, or -1 for no limit, found 0"),
        (#""pidsLimit": "100""#, "spec.pidsLimit", "expected an integer"),
        (#""hostname": "web server""#, "spec.hostname", "expected a host name such as web"),
        (#""dns": ["one.one.one.one"]"#, "spec.dns[0]", "expected an IPv4 or IPv6 address"),
        (#""dnsSearch": ["-bad.example.org"]"#, "spec.dnsSearch[0]", "expected a DNS domain such as example.org"),
        (#""devices": ["/dev/fuse:/dev/fuse:rwx"]"#, "spec.devices[0]", "permissions are some of r (read), w (write) and m (mknod)"),
        (#""devices": ["/dev/a:/dev/x", "/dev/b:/dev/x"]"#, "spec.devices[1]", "/dev/x is already listed"),
        (#""securityOpt": ["seccomp=unconfined", "privileged"]"#, "spec.securityOpt[1]", "expected a security option such as seccomp=unconfined"),
        (#""logging": {"driver": "json file"}"#, "spec.logging.driver", "expected a log driver name such as json-file"),
        (#""logging": {"drvier": "local"}"#, "spec.logging.drvier", "unknown field \"drvier\" (did you mean \"driver\"?)"),
        (#""logging": {"options": {"max-size": ["10m"]}}"#, "spec.logging.options.max-size", "expected a string, found a list"),
        (#""logging": "json-file""#, "spec.logging", "expected a mapping"),
    ])
    func refusesInvalidValuesNamingTheFieldAndWhatWasExpected(field: String, path: String, message: String) throws {
        let error = #expect(throws: ValidationError.self) { try ServiceSpec(json: #"{"image": "example/app:1", \#(field)}"#) }
        let issues = error?.issues ?? []
        #expect(issues.map(\.path) == [path], "\(issues)")
        #expect(issues.first?.message.contains(message) == true, "\(issues)")
    }
}

extension ContainerOptionsTests {
    // MARK: Drift

    @Test func aChangedOptionRecreatesTheContainerNamingIt() throws {
        // given: a running replica created before shmSize was set
        let old = try Fixture.service("web")
        var new = old
        guard case .service(var spec) = new.spec else { Issue.record("not a service"); return }
        spec.container.options.shmSize = try ByteSize(parsing: "256Mi")
        new.spec = .service(spec)
        let observed = ObservedState(containers: [Fixture.container(for: old, in: try Fixture.desired(old))])

        // when
        let plan = Fixture.plan(try Fixture.desired(new), observed)

        // then
        #expect(
            plan.description == """
                ~ rename container berth-shop-web-0 to berth-shop-web-0-old (Service shop/web: spec changed: shmSize)
                + create container berth-shop-web-0 (Service shop/web: spec changed: shmSize)
                ~ start container berth-shop-web-0 (Service shop/web: spec changed: shmSize)
                … wait until container berth-shop-web-0 is running (Service shop/web: before removing the replaced container)
                - remove container berth-shop-web-0-old (Service shop/web: replaced by berth-shop-web-0)
                Plan: 1 to create, 2 to change, 1 to remove.
                """)
    }
}
