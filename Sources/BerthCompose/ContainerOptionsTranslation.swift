import BerthCore

/// The engine options (docs/manifests.md, "Container options") and the compose fields Berth has
/// no field for, each with the reason given in its warning.
extension ServiceTranslator {
    /// Compose fields that are a Berth field or container option under another name, the value as written.
    static let optionNames: [String: String] = [
        "hostname": "hostname", "tty": "tty", "stdin_open": "stdinOpen", "init": "init", "user": "user",
        "logging": "logging", "ulimits": "ulimits", "cap_add": "capAdd", "cap_drop": "capDrop", "sysctls": "sysctls",
        "dns": "dns", "dns_search": "dnsSearch", "security_opt": "securityOpt", "read_only": "readOnlyRootFilesystem",
        "pids_limit": "pidsLimit", "tmpfs": "tmpfs", "scale": "replicas", "working_dir": "workingDir",
        "stop_signal": "stopSignal", "stop_grace_period": "stopGracePeriod",
    ]

    /// Why a compose field is not translated, by field name (`deploy.placement` for nested ones).
    static let unsupportedReasons: [String: String] = [
        "annotations": "Berth sets labels only, no OCI annotations",
        "attach": "Berth keeps every container's output for berth logs; nothing attaches to it",
        "blkio_config": "Berth limits memory, CPUs and processes only",
        "cgroup": "Berth leaves the cgroup namespace to the engine",
        "cgroup_parent": "Berth leaves the cgroup parent to the engine",
        "container_name": "Berth names containers berth-<project>-<service>-<replica>; other containers reach this one by its service name",
        "cpu_count": "Berth limits CPUs with resources.cpus only", "cpu_percent": "Berth limits CPUs with resources.cpus only",
        "cpu_shares": "Berth limits CPUs with resources.cpus only", "cpu_period": "Berth limits CPUs with resources.cpus only",
        "cpu_quota": "Berth limits CPUs with resources.cpus only", "cpu_rt_runtime": "Berth limits CPUs with resources.cpus only",
        "cpu_rt_period": "Berth limits CPUs with resources.cpus only", "cpuset": "Berth limits CPUs with resources.cpus only",
        "credential_spec": "a Windows setting",
        "develop": "compose watch is a development tool",
        "device_cgroup_rules": "Berth makes devices available with devices only",
        "dns_opt": "Berth sets DNS servers and search domains only",
        "domainname": "Berth sets the host name only",
        "external_links": "containers outside the project are reached through a shared Network (external: true)",
        "expose": "not needed: containers on a project network reach each other's ports without it",
        "gpus": "Berth does not hand GPUs to containers yet (devices can map /dev/dri)",
        "group_add": "Berth sets the user and its group only",
        "ipc": "Berth leaves the IPC namespace to the engine",
        "isolation": "a Windows setting",
        "links": "containers on a project network reach each other by service name; a link alias becomes a network alias by hand",
        "mac_address": "the engine picks MAC addresses",
        "mem_reservation": "Berth sets limits only, no reservations",
        "mem_swappiness": "Berth leaves swap to the engine",
        "memswap_limit": "Berth leaves swap to the engine",
        "oom_kill_disable": "Berth leaves the OOM killer to the engine",
        "oom_score_adj": "Berth leaves the OOM killer to the engine",
        "pid": "Berth never shares the host's or another container's process namespace",
        "platform": "the engine runs images for its own platform",
        "post_start": "Berth runs no lifecycle hooks",
        "pre_stop": "Berth runs no lifecycle hooks (it sends stopSignal and waits stopGracePeriod)",
        "privileged": "Berth runs no privileged containers: add the capabilities (capAdd) and devices it needs",
        "runtime": "Berth uses the engine's default runtime",
        "storage_opt": "Berth leaves storage options to the engine",
        "userns_mode": "Berth leaves the user namespace to the engine",
        "uts": "Berth leaves the UTS namespace to the engine",
        "volumes_from": "Berth mounts named volumes and host paths: mount the same Volume in both services",
        "consistency": "a macOS setting",
        "deploy.placement": "Berth runs on one engine",
        "deploy.endpoint_mode": "Berth runs on one engine; the service name resolves to every replica",
        "deploy.labels": "these are swarm service labels; container labels are under labels",
        "deploy.rollback_config": "Berth replaces replicas one at a time and stops at the first that fails",
        "volume.nocopy": "Berth lets the engine copy the image's files into a new volume",
        "volume.subpath": "Berth mounts whole volumes",
        "bind.propagation": "Berth uses the engine's default propagation",
        "bind.selinux": "Berth does not relabel host paths",
        "networks.ipv6_address": "Berth fixes IPv4 addresses only",
        "networks.link_local_ips": "Berth fixes IPv4 addresses only",
        "networks.priority": "Berth attaches networks in the order listed",
        "networks.gw_priority": "Berth attaches networks in the order listed",
        "networks.mac_address": "the engine picks MAC addresses",
        "networks.driver_opts": "Berth sets driver options on the Network only",
        "networks.interface_name": "the engine names interfaces",
        "healthcheck.start_interval": "Berth checks at interval from the start",
        "env_file": "the loader reads env files into environment; this one was left unread",
        "extends": "the loader resolves extends; this one was left unresolved",
        "profiles": "the loader applies profiles; these were left unapplied",
    ]

    /// Translates an engine option; `false` when `key` is not one.
    mutating func option(_ key: String, _ value: InputNode, _ field: ComposeOrigin, into spec: inout SpecFields) -> Bool {
        switch key {
        case "shm_size":
            spec.set("shmSize", ComposeUnits.size(value), from: field)
        case "extra_hosts":
            // Canonical form: `host: address` (or a list of addresses); Berth writes `host:address`.
            for entry in value.entries ?? [] {
                let host = field.child(entry.key, at: entry.fieldLocation)
                for address in entry.value.listItems {
                    spec.append("extraHosts", .string("\(entry.key):\(address.scalarText ?? "")", at: entry.fieldLocation), from: host)
                }
            }
        case "devices":
            for (index, device) in value.listItems.enumerated() {
                let item = field.item(index, at: device.location)
                if device.scalarText != nil {
                    spec.append("devices", device, from: item)
                } else {
                    let parts = [device["source"], device["target"], device["permissions"]].compactMap { $0?.scalarText }
                    spec.append("devices", .string(parts.joined(separator: ":"), at: device.location), from: item)
                }
            }
        case "tmpfs", "cap_add", "cap_drop", "dns", "dns_search", "security_opt":
            let berthKey = Self.optionNames[key] ?? key
            for (index, item) in value.listItems.enumerated() {
                spec.append(berthKey, item, from: field.item(index, at: item.location))
            }
        default:
            guard let berthKey = Self.optionNames[key] else { return false }
            spec.set(berthKey, value, from: field)
        }
        return true
    }

    /// Warns that `key` is not translated, with the reason; a value that asks for nothing (`false`,
    /// empty) needs no warning: leaving it out does the same.
    mutating func unsupported(_ key: String, _ value: InputNode, _ field: ComposeOrigin) {
        // `attach` is on unless turned off; every other field is off unless set.
        if key == "attach" ? value.isTrue : value.isEmptyValue { return }
        let reason = Self.unsupportedReasons[key] ?? "not a compose field Berth knows"
        log.warn(field, "not translated: \(reason)")
    }
}

/// Docker's units, as compose reads them, in Berth's grammars.
enum ComposeUnits {
    /// A size as Docker reads it (`64m`, `1gb`, `512k`, bytes; every unit a power of 1024) in
    /// Berth's size grammar (`64Mi`); anything else as written, for Berth's reader to refuse.
    static func size(_ node: InputNode) -> InputNode {
        guard case .string(let text) = node.content else { return node }
        let digits = text.prefix { $0.isNumber || $0 == "." }
        let unit = text.dropFirst(digits.count).lowercased().trimmingSpaces
        let suffixes = ["": "", "b": "", "k": "Ki", "kb": "Ki", "m": "Mi", "mb": "Mi", "g": "Gi", "gb": "Gi", "t": "Ti", "tb": "Ti", "p": "Pi", "pb": "Pi"]
        guard !digits.isEmpty, let suffix = suffixes[unit] else { return node }
        return InputNode(suffix.isEmpty ? .number(String(digits)) : .string(String(digits) + suffix), location: node.location)
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
