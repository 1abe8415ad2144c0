import BerthCore
import BerthManifests
import Testing

@Suite("Container options in manifests")
struct ContainerOptionsReadingTests {
    @Test func readsEveryOptionOfAServiceAsComposeWritesThem() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Service
            metadata: {name: web, project: default}
            spec:
              image: example/app:1
              logging:
                driver: json-file
                options: {max-size: 10m, max-file: "3"}
              ulimits:
                nofile: {soft: 1024, hard: 2048}
                nproc: 512
              capAdd: [NET_ADMIN]
              capDrop: [ALL]
              extraHosts: ["db.local:127.0.0.1", "v6:[::1]"]
              tmpfs: ["/run", "/tmp:size=64m,mode=1777"]
              shmSize: 256Mi
              tty: true
              stdinOpen: true
              sysctls: {net.core.somaxconn: "1024"}
              readOnlyRootFilesystem: true
              pidsLimit: 100
              hostname: web
              dns: [1.1.1.1]
              dnsSearch: [example.org]
              devices: ["/dev/fuse:/dev/fuse:rwm"]
              securityOpt: ["seccomp=unconfined", "apparmor=unconfined", "label=disable"]
            """
        // when
        let resources = try Manifests.resources(yaml: yaml, file: "web.yaml")
        // then
        guard case .service(let spec) = resources.first?.spec else { Issue.record("not a service: \(resources)"); return }
        let options = spec.container.options
        #expect(options.logging == LoggingSpec(driver: "json-file", options: ["max-size": "10m", "max-file": "3"]))
        #expect(options.ulimits == ["nofile": Ulimit(soft: 1024, hard: 2048), "nproc": Ulimit(512)])
        #expect(options.capAdd.map(\.description) == ["NET_ADMIN"] && options.capDrop.map(\.description) == ["ALL"])
        #expect(options.extraHosts.map(\.engineEntry) == ["db.local:127.0.0.1", "v6:::1"])
        #expect(options.tmpfs.map(\.description) == ["/run", "/tmp:size=64m,mode=1777"])
        #expect(options.shmSize?.description == "256Mi")
        #expect(options.tty && options.stdinOpen && options.readOnlyRootFilesystem)
        #expect(options.sysctls == ["net.core.somaxconn": "1024"])
        #expect(options.pidsLimit == 100 && options.hostname == "web")
        #expect(options.dns == ["1.1.1.1"] && options.dnsSearch == ["example.org"])
        #expect(options.devices.map(\.description) == ["/dev/fuse:/dev/fuse:rwm"])
        #expect(options.securityOpt.map(\.description) == ["seccomp=unconfined", "apparmor=unconfined", "label=disable"])
    }

    @Test func readsOptionsOfAJobAndOfACronJobTemplate() throws {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Job
            metadata: {name: import}
            spec:
              image: example/worker:1
              network: none
              readOnlyRootFilesystem: true
              tmpfs: /tmp
              ulimits: {nofile: 4096}
            ---
            apiVersion: berth/v1
            kind: CronJob
            metadata: {name: nightly}
            spec:
              schedule: "@daily"
              jobTemplate:
                image: example/worker:1
                capDrop: [ALL]
                capAdd: [CHOWN]
                pidsLimit: 50
            """
        // when
        let resources = try Manifests.resources(yaml: yaml, file: "jobs.yaml")
        // then
        guard case .job(let job) = resources.first?.spec, case .cronJob(let cron) = resources.last?.spec else {
            Issue.record("expected a Job and a CronJob: \(resources)")
            return
        }
        #expect(job.container.options.readOnlyRootFilesystem)
        #expect(job.container.options.tmpfs.map(\.description) == ["/tmp"])
        #expect(job.container.options.ulimits == ["nofile": Ulimit(4096)])
        #expect(cron.jobTemplate.container.options.capDrop == [.all])
        #expect(cron.jobTemplate.container.options.capAdd.map(\.description) == ["CHOWN"])
        #expect(cron.jobTemplate.container.options.pidsLimit == 50)
    }

    @Test func reportsEveryInvalidOptionWithFileLineFieldAndWhatWasExpected() {
        // given
        let yaml = """
            apiVersion: berth/v1
            kind: Service
            metadata: {name: web}
            spec:
              image: example/app:1
              ulimits:
                nofile: {soft: 4096, hard: 1024}
              capAdd: [NET_ADMIN, NET_WIZARD]
              sysctls: {vm.swappiness: "10"}
              securityOpt: ["seccomp=/etc/seccomp.json"]
              shmSize: 64MB
              tmpfs: ["tmp"]
              logging: {driver: syslog, optoins: {}}
            """
        // when
        let found = readingIssues(yaml, file: "opts.yaml").map { "\($0.location.map { "\($0.line)" } ?? "-") \($0.path): \($0.message)" }
        // then
        #expect(
            found == [
                "7 spec.ulimits.nofile.soft: expected the soft limit to be at most the hard limit, found soft 4096 above hard 1024",
                "8 spec.capAdd[1]: expected a Linux capability such as NET_ADMIN, SYS_PTRACE or CAP_CHOWN, or ALL, found \"NET_WIZARD\"",
                "9 spec.sysctls.vm.swappiness: expected a namespaced kernel parameter such as net.core.somaxconn: net.*, fs.mqueue.*, kernel.msgmax, kernel.msgmnb, kernel.msgmni, kernel.sem or kernel.shm*; found \"vm.swappiness\"",
                "10 spec.securityOpt[0]: expected seccomp=unconfined, seccomp=builtin or seccomp={…} with a profile's JSON, found \"seccomp=/etc/seccomp.json\"; the engine takes the profile itself, not the path of its file",
                "11 spec.shmSize: expected a size such as 512Mi, 2Gi, 100M or 1048576 (bytes), found \"64MB\"; unknown suffix \"MB\"; use k, M, G, T, P (powers of 1000) or Ki, Mi, Gi, Ti, Pi (powers of 1024)",
                "12 spec.tmpfs[0]: expected a tmpfs mount such as /run or /tmp:size=64m,mode=1777, found \"tmp\"; the path \"tmp\" must be an absolute path in the container other than /",
                "13 spec.logging.optoins: unknown field \"optoins\" (did you mean \"options\"?)",
            ], "\(found)")
    }
}
