import BerthCore

/// The project's own resources: its Project, the Networks and Volumes of the top-level
/// `networks` and `volumes`, and where its secrets and configs are mounted.
extension ProjectTranslation {
    /// Volume settings that are a Berth field under another name, the value as written.
    static let volumeSettings = ["driver": "driver", "driver_opts": "options", "labels": "labels"]
    /// Network settings that are a Berth field under another name, the value as written.
    static let networkSettings = volumeSettings.merging(["internal": "internal", "enable_ipv6": "enableIPv6"]) { $1 }

    /// The documents of the project file, each read back by Berth (what it refuses is warned and left out).
    mutating func projectDocuments(networks: [InputNode.Entry], volumes: [InputNode.Entry]) -> [BerthDocument] {
        var documents: [BerthDocument] = []
        if project.name != ResourceID.defaultProject {
            documents.append(BerthDocument(kind: .project, name: project.name, project: project.name, origin: root))
        }
        for entry in networks {
            if let document = networkDocument(entry) { documents.append(document) }
        }
        // Compose's default network, which the files need not declare, when it exists already.
        if !networks.contains(where: { $0.key == NetworkAttachment.defaultNetwork }), let engineName = existingNetworks[NetworkAttachment.defaultNetwork] {
            documents.append(existingNetworkDocument(NetworkAttachment.defaultNetwork, engineName: engineName, origin: root))
        }
        for entry in volumes {
            documents.append(volumeDocument(entry))
        }
        for (name, origin) in impliedVolumes.sorted(by: { $0.key < $1.key }) where names.volumes.names.values.contains(name) == false {
            var document = BerthDocument(kind: .volume, name: name, project: project.name, origin: origin)
            document.spec.set("reclaimPolicy", .string(ReclaimPolicy.retain.rawValue), from: origin)
            documents.append(document)
        }
        return documents.compactMap { document in
            var document = document
            return document.validated(log: &log) == nil ? nil : document
        }
    }

    private mutating func networkDocument(_ entry: InputNode.Entry) -> BerthDocument? {
        let field = origin("networks", entry)
        let name = names.networks[entry.key] ?? NameMapping.berthName(entry.key)
        var document = BerthDocument(kind: .network, name: name, project: project.name, origin: field)
        let value = entry.value
        if value["external"]?.isTrue != true, let engineName = existingNetworks[entry.key] {
            warnLeftOut(value, field, used: "the existing network \(engineName)")
            return existingNetworkDocument(name, engineName: engineName, origin: field)
        }
        if value["external"]?.isTrue == true {
            document.spec.set("external", InputNode(.bool(true)), from: field.child("external", at: value["external"]?.location))
            document.spec.set("networkName", .string(value["name"]?.scalarText ?? entry.key), from: field.child("name", at: value["name"]?.location))
            warnLeftOut(value, field, used: "an external network")
            return document
        }
        for setting in value.entries ?? [] {
            let part = field.child(setting.key, at: setting.fieldLocation)
            if let berthKey = Self.networkSettings[setting.key] {
                document.spec.set(berthKey, setting.value, from: part)
                continue
            }
            switch setting.key {
            case "ipam": ipam(setting.value, part, into: &document.spec)
            case "name":
                // Compose's own `<project>_<network>` needs no word: Berth's is berth-<project>-<network>.
                if setting.value.scalarText != "\(project.name)_\(entry.key)" {
                    log.warn(part, "Berth names the network \(ObjectName.network(project: project.name, name: name)) on the engine, not \(setting.value.scalarText ?? "")")
                }
            case "external": break
            default:
                if !setting.value.isEmptyValue { log.warn(part, "not translated: a network setting Berth has no field for") }
            }
        }
        // Compose's own default network, as written: Berth's project default network is the same.
        if entry.key == NetworkAttachment.defaultNetwork, document.spec.fields.isEmpty { return nil }
        return document
    }

    /// Warns once for each setting of a network or volume that is used as it is on the engine,
    /// where Berth declares nothing but its name.
    private mutating func warnLeftOut(_ value: InputNode, _ field: ComposeOrigin, used: String) {
        for setting in value.entries ?? [] where !["external", "name"].contains(setting.key) && !setting.value.isEmptyValue {
            log.warn(field.child(setting.key, at: setting.fieldLocation), "\(used) is used as it is; \(setting.key) is left out")
        }
    }

    /// A Network that uses the engine's `engineName` as it is (the compose project's own, adopted).
    private func existingNetworkDocument(_ name: String, engineName: String, origin: ComposeOrigin) -> BerthDocument {
        var document = BerthDocument(kind: .network, name: name, project: project.name, origin: origin)
        document.spec.set("external", InputNode(.bool(true)), from: origin)
        document.spec.set("networkName", .string(engineName), from: origin)
        document.notes.append("compose network \(name): adopted as it is, the engine network \(engineName)")
        return document
    }

    private mutating func ipam(_ value: InputNode, _ field: ComposeOrigin, into spec: inout SpecFields) {
        for setting in value.entries ?? [] where setting.key != "config" {
            if setting.key == "driver", setting.value.scalarText == "default" { continue }
            log.warn(field.child(setting.key, at: setting.fieldLocation), "Berth uses the engine's default address management; \(setting.key) is left out")
        }
        let configs = value["config"]?.listItems ?? []
        guard let first = configs.first else { return }
        var ipam: [(String, InputNode)] = []
        for setting in first.entries ?? [] {
            let part = field.child("config[0].\(setting.key)", at: setting.fieldLocation)
            switch setting.key {
            case "subnet", "gateway": ipam.append((setting.key, setting.value))
            default: log.warn(part, "Berth sets a subnet and gateway only; \(setting.key) is left out")
            }
        }
        for (index, config) in configs.enumerated().dropFirst() {
            log.warn(field.child("config[\(index)]", at: config.location), "Berth sets one subnet per network; this one is left out")
        }
        if !ipam.isEmpty { spec.set("ipam", .map(ipam, at: first.location), from: field) }
    }

    private mutating func volumeDocument(_ entry: InputNode.Entry) -> BerthDocument {
        let field = origin("volumes", entry)
        let name = names.volumes[entry.key] ?? NameMapping.berthName(entry.key)
        var document = BerthDocument(kind: .volume, name: name, project: project.name, origin: field)
        let value = entry.value
        let engineName = ObjectName.volume(project: project.name, name: name)
        let composeName = value["name"]?.scalarText ?? "\(project.name)_\(entry.key)"
        if let existing = existingVolumes[entry.key] {
            warnLeftOut(value, field, used: "the existing volume \(existing)")
            document.spec.set("external", InputNode(.bool(true)), from: field)
            document.spec.set("volumeName", .string(existing), from: field)
            document.notes.append("compose volume \(entry.key): adopted as it is, with its data, the engine volume \(existing)")
            return document
        }
        for setting in value.entries ?? [] {
            let part = field.child(setting.key, at: setting.fieldLocation)
            if let berthKey = Self.volumeSettings[setting.key] {
                document.spec.set(berthKey, setting.value, from: part)
                continue
            }
            switch setting.key {
            case "name", "external": break
            default:
                if !setting.value.isEmptyValue { log.warn(part, "not translated: a volume setting Berth has no field for") }
            }
        }
        document.spec.set("reclaimPolicy", .string(ReclaimPolicy.retain.rawValue), from: field)
        if value["external"]?.isTrue == true {
            log.warn(
                field, "Berth has no external volumes: it declares Volume \(name) (engine volume \(engineName)); the data of the existing volume \(composeName) stays there until you copy it over")
        } else {
            log.warn(field, "compose keeps this volume's data in the engine volume \(composeName); Berth's Volume \(name) is \(engineName): copy the data over before switching")
        }
        document.notes.append("compose volume \(entry.key): its data is in the engine volume \(composeName); Berth uses \(engineName)")
        return document
    }

    /// Where each secret and config is mounted, for the project file's header.
    func fileMountNotes() -> [String] {
        var notes: [String] = []
        for section in ["secrets", "configs"] {
            for entry in project.document[section]?.entries ?? [] {
                let users = serviceOrder.filter { name in
                    project.document["services"]?[name]?[section]?.listItems.contains { $0["source"]?.scalarText == entry.key } == true
                }
                let file = entry.value["file"]?.scalarText.map { "file \($0)" } ?? "not a file (see the warnings)"
                let mounted = users.isEmpty ? "mounted by no service" : "mounted read-only by \(users.joined(separator: ", "))"
                notes.append("\(section.dropLast()) \(entry.key): \(file), \(mounted)")
            }
        }
        return notes
    }
}
