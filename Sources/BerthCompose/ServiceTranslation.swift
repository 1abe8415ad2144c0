import BerthCore

/// A compose service translated into a Berth Service, before it is checked against the others.
struct ServiceTranslation {
    /// A `depends_on` entry, resolved once every service is known.
    struct Dependency {
        var composeName: String
        var condition: BerthCore.Dependency.Condition
        /// `service_completed_successfully`: the target is a one-off step compose waits to end.
        var awaitsCompletion = false
        var origin: ComposeOrigin
    }

    var composeName: String
    var document: BerthDocument
    var dependencies: [Dependency] = []
    /// The compose labels, read by the companion conventions before the rest become Berth labels.
    var labels: [InputNode.Entry] = []
    var labelsOrigin: ComposeOrigin?
    /// The image as written (or as compose would name the built one).
    var image: String?
    /// `command` and `entrypoint` as written, for the certbot convention.
    var commandWords: [String] = []
}

/// Translates compose services field by field: every field either becomes a Berth field or a
/// warning naming it (docs/compose.md, "Field by field").
struct ServiceTranslator {
    let project: String
    let names: ProjectNames
    /// The top-level `secrets` and `configs` mappings.
    let secrets: InputNode?
    let configs: InputNode?
    var log = WarningLog()
    /// Volumes the services mount that the project must declare: anonymous ones, and named ones
    /// missing from the top-level `volumes`.
    var impliedVolumes: [String: ComposeOrigin] = [:]

    mutating func translate(_ composeName: String, _ node: InputNode, origin: ComposeOrigin) -> ServiceTranslation {
        let berthName = names.services[composeName] ?? NameMapping.berthName(composeName)
        var result = ServiceTranslation(
            composeName: composeName,
            document: BerthDocument(kind: .service, name: berthName, project: project, origin: origin)
        )
        var build: ComposeOrigin?
        // `deploy` wins over the service's own fields, as in compose: read it last.
        let entries = node.entries ?? []
        let ordered = entries.filter { $0.key != "deploy" } + entries.filter { $0.key == "deploy" }
        for entry in ordered where !entry.key.hasPrefix("x-") {
            let field = origin.child(entry.key, at: entry.fieldLocation)
            let value = entry.value
            var spec = result.document.spec
            switch entry.key {
            case "image":
                result.image = value.scalarText
                spec.set("image", value, from: field)
            case "build":
                build = field
            case "command", "entrypoint":
                result.commandWords += value.listItems.compactMap(\.scalarText)
                spec.set(entry.key, value, from: field)
            case "environment":
                environment(value, field, into: &spec)
            case "labels":
                result.labels = value.entries ?? []
                result.labelsOrigin = field
            case "ports":
                for (index, port) in value.listItems.enumerated() {
                    self.port(port, field.item(index, at: port.location), into: &spec)
                }
            case "volumes":
                for (index, mount) in value.listItems.enumerated() {
                    volume(mount, field.item(index, at: mount.location), service: berthName, into: &spec)
                }
            case "secrets", "configs":
                for (index, reference) in value.listItems.enumerated() {
                    fileMount(reference, field.item(index, at: reference.location), kind: entry.key, into: &spec)
                }
            case "healthcheck":
                healthcheck(value, field, into: &spec)
            case "restart":
                restart(value, field, into: &spec)
            case "deploy":
                deploy(value, field, into: &spec)
            case "depends_on":
                result.dependencies += dependencies(value, field)
            case "networks":
                networks(value, field, into: &spec)
            case "network_mode":
                networkMode(value, field, into: &spec)
            case "pull_policy":
                pullPolicy(value, field, into: &spec)
            case "cpus":
                spec.setEntry("resources", "cpus", value, from: field)
            case "mem_limit":
                spec.setEntry("resources", "memory", ComposeUnits.size(value), from: field)
            default:
                if !option(entry.key, value, field, into: &spec) {
                    unsupported(entry.key, value, field)
                }
            }
            // deploy's settings are fields of their own (replicas, resources, restart): each keeps its origin.
            if entry.key != "deploy" { spec.attribute(to: field) }
            result.document.spec = spec
        }
        if let build {
            if let image = result.image {
                log.warn(build, "Berth does not build images: build and tag \(image) first (docker compose build), and push it where the engine can pull it")
            } else {
                // Compose v2's name for a built image: <project>-<service>.
                let image = "\(project)-\(composeName.lowercased())"
                result.image = image
                result.document.spec.set("image", .string(image, at: build.location), from: build)
                result.document.spec.moveToFront("image")
                log.warn(build, "Berth does not build images: build it and tag it \(image) (the name compose v2 gives it: docker compose build), then apply")
            }
        }
        return result
    }

    // MARK: Fields with a Berth field of their own

    private mutating func environment(_ value: InputNode, _ field: ComposeOrigin, into spec: inout SpecFields) {
        for entry in value.entries ?? [] {
            let variable = field.child(entry.key, at: entry.fieldLocation)
            if case .null = entry.value.content {
                log.warn(variable, "no value was given and none was set when loading: Berth takes it from the controller's environment ({fromEnv: \(entry.key)}), which must then set it")
                spec.setEntry("env", entry.key, .map([("fromEnv", .string(entry.key))], at: variable.location), from: variable, parent: field)
            } else {
                spec.setEntry("env", entry.key, entry.value, from: variable, parent: field)
            }
        }
    }

    /// `[host_ip:][published:]target/protocol`.
    private mutating func port(_ port: InputNode, _ field: ComposeOrigin, into spec: inout SpecFields) {
        for entry in port.entries ?? [] where !["target", "published", "host_ip", "protocol", "mode"].contains(entry.key) {
            log.warn(field.child(entry.key, at: entry.fieldLocation), "Berth publishes ports by address, number and protocol only; \(entry.key) is left out")
        }
        guard let target = port["target"]?.scalarText else {
            log.warn(field, "a port without a target cannot be translated; it is left out")
            return
        }
        var text = target
        let hostIP = port["host_ip"]?.scalarText.map { $0.contains(":") && !$0.hasPrefix("[") ? "[\($0)]" : $0 }
        if let published = port["published"]?.scalarText, !published.isEmpty {
            text = "\(hostIP.map { "\($0):" } ?? "")\(published):\(target)"
        } else if let hostIP {
            text = "\(hostIP)::\(target)"
        }
        text += "/\(port["protocol"]?.scalarText ?? "tcp")"
        spec.append("ports", .string(text, at: port.location), from: field)
    }

    private mutating func volume(_ mount: InputNode, _ field: ComposeOrigin, service: String, into spec: inout SpecFields) {
        let known: Set<String> = ["type", "source", "target", "read_only", "bind", "volume", "tmpfs"]
        for entry in mount.entries ?? [] where !known.contains(entry.key) {
            unsupported(entry.key, entry.value, field.child(entry.key, at: entry.fieldLocation))
        }
        guard let target = mount["target"]?.scalarText else {
            log.warn(field, "a mount without a target cannot be translated; it is left out")
            return
        }
        let mode = mount["read_only"]?.isTrue == true ? ":ro" : ""
        let type = mount["type"]?.scalarText ?? "volume"
        switch type {
        case "volume":
            for entry in mount["volume"]?.entries ?? [] where !entry.value.isEmptyValue {
                unsupported("volume.\(entry.key)", entry.value, field.child("volume.\(entry.key)", at: entry.fieldLocation))
            }
            let name: String
            if let source = mount["source"]?.scalarText {
                name = names.volumes[source] ?? NameMapping.berthName(source)
                if names.volumes[source] == nil, impliedVolumes[name] == nil {
                    log.warn(field, "volume \(source.quotedForMessage) is not declared under the top-level volumes; Berth declares Volume \(name) for it")
                    impliedVolumes[name] = field
                }
            } else {
                name = NameMapping.berthName("\(service)-\(target)")
                log.warn(field, "Berth has no anonymous volumes: this one is the Volume \(name), kept (reclaimPolicy Retain) until you remove it")
                impliedVolumes[name] = field
            }
            spec.append("volumes", .string("\(name):\(target)\(mode)", at: mount.location), from: field)
        case "bind":
            for entry in mount["bind"]?.entries ?? [] where entry.key != "create_host_path" && !entry.value.isEmptyValue {
                unsupported("bind.\(entry.key)", entry.value, field.child("bind.\(entry.key)", at: entry.fieldLocation))
            }
            let source = mount["source"]?.scalarText ?? ""
            spec.append("volumes", .string("\(source):\(target)\(mode)", at: mount.location), from: field)
        case "tmpfs":
            var options: [String] = []
            if let size = mount["tmpfs"]?["size"] { options.append("size=\(size.scalarText ?? "")") }
            if let fileMode = mount["tmpfs"]?["mode"] { options.append("mode=\(fileMode.scalarText ?? "")") }
            for entry in mount["tmpfs"]?.entries ?? [] where entry.key != "size" && entry.key != "mode" {
                unsupported("tmpfs.\(entry.key)", entry.value, field.child("tmpfs.\(entry.key)", at: entry.fieldLocation))
            }
            if !mode.isEmpty { options.append("ro") }
            let text = options.isEmpty ? target : "\(target):\(options.joined(separator: ","))"
            spec.append("tmpfs", .string(text, at: mount.location), from: field)
        default:
            log.warn(field, "Berth mounts volumes, host paths and tmpfs only; this \(type) mount is left out")
        }
    }

    /// A secret or config: its file on the host, mounted read-only where compose puts it.
    private mutating func fileMount(_ reference: InputNode, _ field: ComposeOrigin, kind: String, into spec: inout SpecFields) {
        guard let source = reference["source"]?.scalarText else {
            log.warn(field, "a \(kind) entry without source cannot be translated; it is left out")
            return
        }
        for key in ["uid", "gid", "mode"] where reference[key] != nil {
            log.warn(field.child(key, at: reference[key]?.location), "a mounted host file keeps its own owner and mode on the host; \(key) is left out (set them on the file)")
        }
        let declaration = (kind == "secrets" ? secrets : configs)?[source]
        guard let file = declaration?["file"]?.scalarText else {
            let how = declaration?["environment"] != nil ? "from an environment variable" : declaration?["content"] != nil ? "from inline content" : "external"
            log.warn(field, "Berth mounts \(kind) from files on the host only; \(source.quotedForMessage) is \(how): write it to a file and mount that, or use env with fromEnv")
            return
        }
        var target = reference["target"]?.scalarText ?? source
        if !target.hasPrefix("/") { target = (kind == "secrets" ? "/run/secrets/" : "/") + target }
        spec.append("volumes", .string("\(file):\(target):ro", at: reference.location), from: field)
    }

    private mutating func healthcheck(_ value: InputNode, _ field: ComposeOrigin, into spec: inout SpecFields) {
        let test = value["test"]?.listItems.compactMap(\.scalarText) ?? []
        if value["disable"]?.isTrue == true || test.first == "NONE" {
            log.warn(field, "Berth cannot turn off a health check the image declares: left out, so the image's (if any) still runs")
            return
        }
        if test.isEmpty {
            log.warn(field, "a health check without test only changes the image's timings, which Berth cannot; left out")
            return
        }
        for entry in value.entries ?? [] {
            let part = field.child(entry.key, at: entry.fieldLocation)
            switch entry.key {
            case "test":
                let command: InputNode =
                    switch test.first ?? "" {
                    case "CMD-SHELL": .string(test.dropFirst().joined(separator: " "), at: entry.value.location)
                    case "CMD": InputNode(.list(test.dropFirst().map { .string($0) }), location: entry.value.location)
                    default: InputNode(.list(test.map { .string($0) }), location: entry.value.location)
                    }
                spec.setEntry("healthcheck", "command", command, from: part, parent: field)
            case "interval", "timeout", "retries": spec.setEntry("healthcheck", entry.key, entry.value, from: part, parent: field)
            case "start_period": spec.setEntry("healthcheck", "startPeriod", entry.value, from: part, parent: field)
            case "disable": break
            default: unsupported("healthcheck.\(entry.key)", entry.value, part)
            }
        }
    }

    private mutating func restart(_ value: InputNode, _ field: ComposeOrigin, into spec: inout SpecFields) {
        let text = value.scalarText ?? ""
        let policy: String
        switch text {
        case "no": policy = "never"
        case "always", "unless-stopped": policy = "always"
        case let text where text.hasPrefix("on-failure"):
            policy = "on-failure"
            if text.contains(":") {
                log.warn(field, "Berth restarts on failure without a limit on attempts, backing off from 10s to 5m; the count in \(text.quotedForMessage) is left out")
            }
        default:
            log.warn(field, "unknown restart policy \(text.quotedForMessage); Berth's default (always) applies")
            return
        }
        spec.set("restart", .string(policy, at: value.location), from: field)
    }

    private mutating func deploy(_ value: InputNode, _ field: ComposeOrigin, into spec: inout SpecFields) {
        for entry in value.entries ?? [] {
            let part = field.child(entry.key, at: entry.fieldLocation)
            switch entry.key {
            case "replicas":
                spec.set("replicas", entry.value, from: part)
            case "mode":
                if entry.value.scalarText != "replicated" {
                    log.warn(part, "Berth runs a number of replicas on one engine; mode \(entry.value.scalarText ?? "") is left out")
                }
            case "resources":
                resources(entry.value, part, into: &spec)
            case "restart_policy":
                for policy in entry.value.entries ?? [] {
                    let setting = part.child(policy.key, at: policy.fieldLocation)
                    if policy.key == "condition" {
                        let words = ["none": "never", "on-failure": "on-failure", "any": "always"]
                        if let word = policy.value.scalarText.flatMap({ words[$0] }) {
                            if let written = spec.fields.first(where: { $0.key == "restart" })?.origin {
                                log.warn(written, "deploy.restart_policy wins over restart, as in compose; this one is left out")
                            }
                            spec.set("restart", .string(word, at: policy.value.location), from: setting)
                        } else {
                            log.warn(setting, "unknown restart condition; Berth's default (always) applies")
                        }
                    } else {
                        log.warn(setting, "Berth restarts with its own backoff (10s doubling to 5m, no attempt limit); \(policy.key) is left out")
                    }
                }
            case "update_config":
                for update in entry.value.entries ?? [] {
                    let setting = part.child(update.key, at: update.fieldLocation)
                    if update.key == "order" {
                        spec.set("updateOrder", update.value, from: setting)
                    } else {
                        log.warn(setting, "Berth replaces replicas one at a time, each once the previous one is ready; \(update.key) is left out")
                    }
                }
            default:
                unsupported("deploy.\(entry.key)", entry.value, part)
            }
        }
    }

    private mutating func resources(_ value: InputNode, _ field: ComposeOrigin, into spec: inout SpecFields) {
        for entry in value.entries ?? [] {
            let part = field.child(entry.key, at: entry.fieldLocation)
            guard entry.key == "limits" else {
                log.warn(part, "Berth sets limits only, no reservations: the engine does not reserve anything on one host; left out")
                continue
            }
            for limit in entry.value.entries ?? [] {
                let setting = part.child(limit.key, at: limit.fieldLocation)
                switch limit.key {
                case "cpus": spec.setEntry("resources", "cpus", limit.value, from: setting)
                case "memory": spec.setEntry("resources", "memory", ComposeUnits.size(limit.value), from: setting)
                case "pids": spec.set("pidsLimit", limit.value, from: setting)
                default: log.warn(setting, "Berth limits memory, CPUs and processes only; \(limit.key) is left out")
                }
            }
        }
    }

    private mutating func dependencies(_ value: InputNode, _ field: ComposeOrigin) -> [ServiceTranslation.Dependency] {
        (value.entries ?? []).map { entry in
            let dependency = field.child(entry.key, at: entry.fieldLocation)
            var condition = BerthCore.Dependency.Condition.started
            let awaitsCompletion = entry.value["condition"]?.scalarText == "service_completed_successfully"
            if entry.value["condition"]?.scalarText == "service_healthy" { condition = .healthy }
            if awaitsCompletion {
                log.warn(dependency, "Berth waits for a service to run or to be healthy, not to end: this one waits for \(entry.key) to have started (run a one-off step as a Job)")
            }
            if entry.value["restart"]?.isTrue == true {
                log.warn(dependency.child("restart", at: entry.value["restart"]?.location), "Berth does not restart a service when a service it depends on restarts; left out")
            }
            for other in entry.value.entries ?? [] where !["condition", "restart", "required"].contains(other.key) {
                unsupported(other.key, other.value, dependency.child(other.key, at: other.fieldLocation))
            }
            return ServiceTranslation.Dependency(composeName: entry.key, condition: condition, awaitsCompletion: awaitsCompletion, origin: dependency)
        }
    }

    private mutating func networks(_ value: InputNode, _ field: ComposeOrigin, into spec: inout SpecFields) {
        for entry in value.entries ?? [] {
            let part = field.child(entry.key, at: entry.fieldLocation)
            let name = names.networks[entry.key] ?? NameMapping.berthName(entry.key)
            var attachment: [(String, InputNode)] = [("name", .string(name, at: entry.keyLocation))]
            for setting in entry.value.entries ?? [] {
                let detail = part.child(setting.key, at: setting.fieldLocation)
                switch setting.key {
                case "aliases": if !setting.value.isEmptyValue { attachment.append(("aliases", setting.value)) }
                case "ipv4_address": attachment.append(("ipv4Address", setting.value))
                default: unsupported("networks.\(setting.key)", setting.value, detail)
                }
            }
            let item = attachment.count == 1 ? InputNode.string(name, at: entry.keyLocation) : .map(attachment, at: entry.keyLocation)
            spec.append("networks", item, from: part)
        }
    }

    private mutating func networkMode(_ value: InputNode, _ field: ComposeOrigin, into spec: inout SpecFields) {
        let mode = value.scalarText ?? ""
        if ["host", "none", "bridge"].contains(mode) {
            spec.set("network", value, from: field)
        } else {
            log.warn(field, "Berth cannot share another container's network (\(mode)); the service joins the project's networks instead, where it reaches the other by name")
        }
    }

    private mutating func pullPolicy(_ value: InputNode, _ field: ComposeOrigin, into spec: inout SpecFields) {
        let words = ["always": "Always", "never": "Never", "missing": "IfNotPresent", "if_not_present": "IfNotPresent"]
        guard let word = value.scalarText.flatMap({ words[$0] }) else {
            log.warn(field, "Berth pulls Always, Never or IfNotPresent; \(value.scalarText ?? "") is left out (IfNotPresent applies)")
            return
        }
        spec.set("pullPolicy", .string(word, at: value.location), from: field)
    }
}
