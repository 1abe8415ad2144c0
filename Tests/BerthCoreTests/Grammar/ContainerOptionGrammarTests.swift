import Testing
@testable import BerthCore

@Suite struct ContainerOptionGrammarTests {
    // MARK: Capabilities

    @Test(arguments: [
        ("NET_ADMIN", "NET_ADMIN", "CAP_NET_ADMIN"), ("CAP_NET_ADMIN", "NET_ADMIN", "CAP_NET_ADMIN"),
        ("cap_sys_ptrace", "SYS_PTRACE", "CAP_SYS_PTRACE"), ("all", "ALL", "ALL"), ("CHECKPOINT_RESTORE", "CHECKPOINT_RESTORE", "CAP_CHECKPOINT_RESTORE"),
    ])
    func readsCapabilitiesWithOrWithoutThePrefixInAnyCase(text: String, name: String, engineName: String) throws {
        let capability = try Capability(parsing: text)
        #expect(capability.description == name)
        #expect(capability.engineName == engineName)
    }

    @Test(arguments: [("NET_ADMN", "did you mean \"NET_ADMIN\""), ("CAP_", "found \"CAP_\""), ("SYS_WIZARD", "expected a Linux capability"), ("", "expected a Linux capability")])
    func refusesUnknownCapabilities(text: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try Capability(parsing: text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    // MARK: Devices

    @Test(arguments: [
        ("/dev/fuse", "/dev/fuse:/dev/fuse:rwm"), ("/dev/null:/dev/mynull", "/dev/null:/dev/mynull:rwm"),
        ("/dev/snd:/dev/snd:rw", "/dev/snd:/dev/snd:rw"), ("/dev/fuse:mr", "/dev/fuse:/dev/fuse:rm"), ("/dev/sda:/dev/xvda:r", "/dev/sda:/dev/xvda:r"),
    ])
    func readsDevicesFillingInTheContainerPathAndPermissions(text: String, canonical: String) throws {
        let device = try DeviceMapping(parsing: text)
        #expect(device.description == canonical)
        #expect(try DeviceMapping(parsing: device.description) == device)
    }

    @Test(arguments: [
        ("dev/fuse", "the host path \"dev/fuse\" must be absolute"), ("/dev/fuse:fuse:rwm", "the container path \"fuse\" must be absolute"),
        ("/dev/fuse:/dev/fuse:rwx", "permissions are some of r (read), w (write) and m (mknod)"), ("/dev/fuse:/dev/fuse:rr", "each once"),
        ("/a:/b:r:x", "write HOST, HOST:CONTAINER"), ("/dev/fuse::r", "write HOST, HOST:CONTAINER"),
    ])
    func refusesMalformedDevices(text: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try DeviceMapping(parsing: text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    // MARK: tmpfs

    @Test(arguments: [("/run", "/run", ""), ("/tmp:size=64m,mode=1777", "/tmp", "size=64m,mode=1777"), ("/cache:ro,noexec,nosuid,uid=1000,size=10%", "/cache", "ro,noexec,nosuid,uid=1000,size=10%")])
    func readsTmpfsMounts(text: String, path: String, options: String) throws {
        let mount = try TmpfsMount(parsing: text)
        #expect(mount.path == path)
        #expect(mount.options == options)
        #expect(mount.description == text)
    }

    @Test(arguments: [
        ("run", "must be an absolute path"), ("/", "other than /"), ("/tmp:", "options are missing"),
        ("/tmp:size=lots", "size=lots is not a valid size"), ("/tmp:mode=999", "mode=999 is not a valid mode"),
        ("/tmp:color=blue", "unknown option \"color=blue\""), ("/tmp:exec=1", "unknown option \"exec=1\""), ("/tmp:size=1g,,ro", "unknown option \"\""),
    ])
    func refusesMalformedTmpfsMounts(text: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try TmpfsMount(parsing: text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    // MARK: Extra hosts

    @Test(arguments: [
        ("db.local:127.0.0.1", "db.local:127.0.0.1", "db.local:127.0.0.1"), ("db.local=10.0.0.5", "db.local:10.0.0.5", "db.local:10.0.0.5"),
        ("v6:::1", "v6:[::1]", "v6:::1"), ("v6:[::1]", "v6:[::1]", "v6:::1"), ("v6=[FE80::1]", "v6:[fe80::1]", "v6:fe80::1"),
        ("host-gateway_x:192.168.1.1", "host-gateway_x:192.168.1.1", "host-gateway_x:192.168.1.1"),
        ("host.docker.internal:host-gateway", "host.docker.internal:host-gateway", "host.docker.internal:host-gateway"),
    ])
    func readsExtraHostsInComposeForms(text: String, canonical: String, engineEntry: String) throws {
        let entry = try ExtraHost(parsing: text)
        #expect(entry.description == canonical)
        #expect(entry.engineEntry == engineEntry)
        #expect(try ExtraHost(parsing: entry.description) == entry)
    }

    @Test(arguments: [
        ("db.local", "write HOST:IP"), ("db.local:localhost", "\"localhost\" is not an IPv4 or IPv6 address"),
        ("db local:1.2.3.4", "the host name \"db local\" is not a DNS name"), (":1.2.3.4", "the host name \"\""),
        ("db:gateway", "is not an IPv4 or IPv6 address, nor host-gateway"), ("db:01.2.3.4", "is not an IPv4"),
    ])
    func refusesMalformedExtraHosts(text: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try ExtraHost(parsing: text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    // MARK: Security options

    @Test(arguments: [
        ("seccomp=unconfined", "seccomp=unconfined", false), ("seccomp:unconfined", "seccomp=unconfined", false),
        ("apparmor=unconfined", "apparmor=unconfined", false), ("apparmor:docker-custom", "apparmor=docker-custom", false),
        ("label=disable", "label=disable", false), ("label:disable", "label=disable", false), ("label=type:svirt_apache_t", "label=type:svirt_apache_t", false),
        ("label:level:s0:c100,c200", "label=level:s0:c100,c200", false), ("systempaths=unconfined", "systempaths=unconfined", false),
        ("no-new-privileges", "no-new-privileges=true", true), ("no-new-privileges:true", "no-new-privileges=true", true),
        ("no-new-privileges=true", "no-new-privileges=true", true), (#"seccomp={"defaultAction": "SCMP_ACT_ALLOW"}"#, #"seccomp={"defaultAction": "SCMP_ACT_ALLOW"}"#, false),
    ])
    func readsSecurityOptionsInBothSpellings(text: String, canonical: String, onlyNarrows: Bool) throws {
        let option = try SecurityOption(parsing: text)
        #expect(option.description == canonical)
        #expect(option.onlyNarrows == onlyNarrows)
        #expect(try SecurityOption(parsing: option.description) == option)
    }

    @Test(arguments: [
        ("seccomp=/etc/docker/seccomp.json", "not the path of its file"), ("seccomp", "expected seccomp=unconfined"),
        ("no-new-privileges=false", "it is off unless set"), ("label=enable", "expected label=disable"), ("label=user:", "expected label=disable"),
        ("systempaths=confined", "expected systempaths=unconfined"), ("apparmor=", "expected apparmor=PROFILE"),
        ("secomp=unconfined", "(did you mean \"seccomp\"?)"), ("privileged=true", "known keys: seccomp, apparmor, label, no-new-privileges, systempaths"),
    ])
    func refusesUnknownOrMalformedSecurityOptions(text: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try SecurityOption(parsing: text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    // MARK: Sysctls

    @Test(arguments: ["net.core.somaxconn", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.conf.eth-0.forwarding", "fs.mqueue.msg_max", "kernel.shmmax", "kernel.shm_rmid_forced", "kernel.sem"])
    func acceptsNamespacedKernelParameters(name: String) throws {
        try SysctlName.validate(name)
    }

    @Test(arguments: ["vm.swappiness", "kernel.pid_max", "net", "net..x", "net.core.some maxconn", "fs.file-max", "kernel.shm"])
    func refusesKernelParametersThatAreNotNamespaced(name: String) {
        let error = #expect(throws: ValidationError.self) { try SysctlName.validate(name) }
        #expect(error?.description.contains("expected a namespaced kernel parameter such as net.core.somaxconn") == true)
    }

    @Test func matchesPolicyPatternsByNameOrPrefix() {
        #expect(SysctlName.matches("net.core.somaxconn", "net.core.somaxconn"))
        #expect(SysctlName.matches("net.ipv4.tcp_syncookies", "net.ipv4.*"))
        #expect(SysctlName.matches("net.ipv4.conf.all.rp_filter", "net.*"))
        #expect(!SysctlName.matches("net.ipv6.conf.all.forwarding", "net.ipv4.*"))
        #expect(!SysctlName.matches("net.ipv4x.y", "net.ipv4.*"))
        #expect(!SysctlName.matches("net.core.somaxconn2", "net.core.somaxconn"))
    }

    // MARK: Ulimits

    @Test func unlimitedIsAboveEveryNumber() {
        #expect(Ulimit(soft: 1024, hard: 2048).isOrdered)
        #expect(Ulimit(soft: 1024, hard: -1).isOrdered)
        #expect(Ulimit(-1).isOrdered)
        #expect(!Ulimit(soft: -1, hard: 2048).isOrdered)
        #expect(!Ulimit(soft: 4096, hard: 2048).isOrdered)
    }
}
