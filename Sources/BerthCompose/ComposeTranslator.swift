import BerthCore

/// Turns a compose project in canonical form into Berth manifests: one file per compose service
/// (its Service, and the CronJobs of its ofelia labels) and one for the project (its Project,
/// Volumes and Networks, and where its secrets and configs are mounted), every field commented
/// with the compose field and `file:line:column` it came from. Every compose field is translated
/// or named in a warning (docs/compose.md, "Field by field").
public enum ComposeTranslator {
    /// How to translate.
    public struct Options: Sendable, Hashable {
        /// The folder compose files are named relative to in comments; the project directory when `nil`.
        public var sourceRoot: String?

        public init(sourceRoot: String? = nil) {
            self.sourceRoot = sourceRoot
        }
    }

    /// The name of the file that holds the project's own resources (no Berth name has `_`, so no
    /// service's file can take it).
    public static let projectFileName = "_project.yaml"

    public static func translate(_ project: ComposeProject, options: Options = Options()) -> ComposeTranslation {
        var translation = ProjectTranslation(project: project)
        translation.run()
        let writer = ManifestWriter(sourceRoot: options.sourceRoot ?? project.directory)
        let header =
            ["Berth manifests for compose project \(project.name), written by berth import compose from:"]
            + project.files.map { "  \(writer.relative($0))" }
        var files: [String: String] = [:]
        for file in translation.files where !file.documents.isEmpty {
            files[file.name] = writer.text(file.documents, header: header + file.notes)
        }
        return ComposeTranslation(files: files, warnings: project.warnings + translation.log.warnings)
    }
}

/// Berth manifests for a compose project, and everything that was not translated as written.
public struct ComposeTranslation: Sendable, Hashable {
    /// File name → YAML text: `<service>.yaml` for each compose service, and
    /// ``ComposeTranslator/projectFileName`` for the project, its volumes and networks.
    public var files: [String: String]
    /// The loader's warnings, then the translation's, each naming the compose field and place.
    public var warnings: [ComposeWarning]

    public init(files: [String: String], warnings: [ComposeWarning]) {
        self.files = files
        self.warnings = warnings
    }
}

/// Compose names of a project mapped to Berth names, by kind.
struct ProjectNames {
    var services = NameMapping([])
    var networks = NameMapping([])
    var volumes = NameMapping([])
}

/// One generated file.
struct GeneratedFile {
    var name: String
    var notes: [String] = []
    var documents: [BerthDocument] = []
}

/// The state of one translation: the project's parts, translated in dependency order.
struct ProjectTranslation {
    let project: ComposeProject
    var log = WarningLog()
    var names = ProjectNames()
    var files: [GeneratedFile] = []
    /// Translated services by compose name, with the resource Berth read back.
    private var services: [String: (translation: ServiceTranslation, resource: Resource)] = [:]
    private var serviceOrder: [String] = []
    /// Services left out because a companion convention replaces them.
    private var companions: Set<String> = []
    private var ofeliaJobs: [CompanionConventions.OfeliaJob] = []
    private var impliedVolumes: [String: ComposeOrigin] = [:]

    init(project: ComposeProject) {
        self.project = project
    }

    /// Where the project itself is declared: its `name`, else the top of the first file.
    private var root: ComposeOrigin {
        let name = project.document.mappingEntries.first { $0.key == "name" }
        return ComposeOrigin(field: "name", location: name?.fieldLocation ?? project.document.location)
    }

    private func origin(_ section: String, _ entry: InputNode.Entry) -> ComposeOrigin {
        ComposeOrigin(field: "\(section).\(entry.key)", location: entry.fieldLocation)
    }

    mutating func run() {
        let document = project.document
        for entry in document.mappingEntries where !entry.key.hasPrefix("x-") {
            if !["name", "services", "networks", "volumes", "secrets", "configs"].contains(entry.key) {
                log.warn(ComposeOrigin(field: entry.key, location: entry.fieldLocation), "not translated: not a top-level compose field Berth knows")
            }
        }
        let services = document[compose: "services"]?.mappingEntries ?? []
        let networks = document[compose: "networks"]?.mappingEntries ?? []
        let volumes = document[compose: "volumes"]?.mappingEntries ?? []
        names.services = NameMapping(services.map(\.key))
        names.networks = NameMapping(networks.map(\.key), reserved: [NetworkAttachment.defaultNetwork])
        names.volumes = NameMapping(volumes.map(\.key))
        names.services.warnRenamed("service", declaredAt: origins("services", services), into: &log)
        names.networks.warnRenamed("network", declaredAt: origins("networks", networks), into: &log)
        names.volumes.warnRenamed("volume", declaredAt: origins("volumes", volumes), into: &log)

        for entry in services { translateService(entry) }
        resolveDependencies()
        translateOfeliaJobs()
        var projectFile = GeneratedFile(name: ComposeTranslator.projectFileName)
        projectFile.documents = projectDocuments(networks: networks, volumes: volumes)
        projectFile.notes = fileMountNotes()
        files.insert(projectFile, at: 0)
        checkTogether()
    }

    private func origins(_ section: String, _ entries: [InputNode.Entry]) -> [String: ComposeOrigin] {
        Dictionary(entries.map { ($0.key, origin(section, $0)) }) { first, _ in first }
    }

    // MARK: Services

    private mutating func translateService(_ entry: InputNode.Entry) {
        let serviceOrigin = origin("services", entry)
        var translator = ServiceTranslator(
            project: project.name, names: names, secrets: project.document[compose: "secrets"], configs: project.document[compose: "configs"], log: log
        )
        var service = translator.translate(entry.key, entry.value, origin: serviceOrigin)
        log = translator.log
        impliedVolumes.merge(translator.impliedVolumes) { first, _ in first }
        ofeliaJobs += CompanionConventions.takeLabels(of: &service, log: &log)
        var file = GeneratedFile(name: "\(service.document.name).yaml")
        if let companion = CompanionConventions.companion(image: service.image) {
            log.warn(serviceOrigin, CompanionConventions.dropNote(companion))
            file.notes.append("compose service \(entry.key): \(CompanionConventions.dropNote(companion))")
            companions.insert(entry.key)
            files.append(file)
            return
        }
        if CompanionConventions.isCertbotRenewLoop(image: service.image, words: service.commandWords) {
            log.warn(
                serviceOrigin,
                "a certbot renew loop: Berth's Certificate kind issues and renews certificates itself (self-signed or from a local CA; not from an ACME CA yet), writes them to a volume and reloads the services that use them; this service is kept as it is until you switch"
            )
        }
        let labelsOrigin = service.labelsOrigin ?? serviceOrigin
        for label in service.labels {
            service.document.spec.setEntry("labels", label.key, label.value, from: labelsOrigin.child(label.key, at: label.fieldLocation), parent: labelsOrigin)
        }
        if var resource = service.document.validated(log: &log) {
            if case .service(let spec) = resource.spec, spec.replicas > 1, spec.ports.contains(where: \.bindsHostPort),
                let replicas = service.document.spec.fields.first(where: { $0.key == "replicas" })
            {
                // Compose starts the first replica and fails the others on the taken port; Berth refuses the spec.
                log.warn(replicas.origin, "\(spec.replicas) replicas cannot all publish the same host port: Berth runs 1 (compose would start one and fail the others)")
                service.document.spec.set("replicas", InputNode(.number("1"), location: replicas.value.location), from: replicas.origin)
                resource = service.document.validated(log: &log) ?? resource
            }
            services[entry.key] = (service, resource)
            serviceOrder.append(entry.key)
            file.documents.append(service.document)
        } else {
            file.notes.append("compose service \(entry.key) could not be translated; see the warnings of berth import compose")
        }
        files.append(file)
    }

    /// `depends_on`, once every service is known: each target must be a translated service, and
    /// `service_healthy` needs a health check Berth can see.
    private mutating func resolveDependencies() {
        let oneOffSteps = Set(serviceOrder.flatMap { services[$0]?.translation.dependencies.filter(\.awaitsCompletion).map(\.composeName) ?? [] })
        for composeName in serviceOrder {
            guard var service = services[composeName]?.translation else { continue }
            if oneOffSteps.contains(composeName), service.document.spec["restart"] == nil {
                // Compose runs it once (its default restart is no); Berth's default would run it again after it ends.
                service.document.spec.set("restart", .text(RestartPolicy.never.rawValue), from: service.document.origin)
                log.warn(service.document.origin, "other services wait for this one to complete: it runs once (restart: never, compose's default), not kept running")
            }
            for dependency in service.dependencies {
                guard let found = services[dependency.composeName] else {
                    let why = companions.contains(dependency.composeName) ? "is left out (a companion Berth replaces)" : "was not translated"
                    log.warn(dependency.origin, "service \(dependency.composeName.quoted) \(why); the dependency is left out")
                    continue
                }
                var condition = dependency.condition
                if condition == .healthy, case .service(let spec) = found.resource.spec, spec.healthcheck == nil {
                    log.warn(
                        dependency.origin,
                        "service_healthy needs a health check Berth knows, and \(dependency.composeName) declares none (its image's may have one): it waits for \(dependency.composeName) to have started"
                    )
                    condition = .started
                }
                let item: InputNode =
                    condition == .started
                    ? .text(found.translation.document.name, at: dependency.origin.location)
                    : .mapping([("name", .text(found.translation.document.name)), ("condition", .text(condition.rawValue))], at: dependency.origin.location)
                service.document.spec.append("dependsOn", item, from: dependency.origin)
            }
            guard let resource = service.document.validated(log: &log) else { continue }
            services[composeName] = (service, resource)
            replaceDocument(with: service.document)
        }
    }

    /// Puts the Service `document` in its file in place of the one written before.
    private mutating func replaceDocument(with document: BerthDocument) {
        for file in files.indices {
            for index in files[file].documents.indices
            where files[file].documents[index].kind == .service && files[file].documents[index].name == document.name {
                files[file].documents[index] = document
            }
        }
    }

    // MARK: Ofelia jobs

    /// The Berth fields a job-exec CronJob takes from the service whose container ofelia ran it in.
    private static let templateKeys: Set<String> = [
        "image", "workingDir", "user", "env", "volumes", "network", "networks", "resources", "stopSignal", "stopGracePeriod",
        "pullPolicy", "init", "noNewPrivileges", "logging", "ulimits", "capAdd", "capDrop", "extraHosts", "tmpfs", "shmSize",
        "sysctls", "readOnlyRootFilesystem", "pidsLimit", "dns", "dnsSearch", "devices", "securityOpt",
    ]

    private mutating func translateOfeliaJobs() {
        for job in ofeliaJobs {
            let carrierName = names.services[job.carrier] ?? NameMapping.berthName(job.carrier)
            var document = BerthDocument(
                kind: .cronJob, name: NameMapping.berthName("\(carrierName)-\(job.name)"), project: project.name, origin: job.origin
            )
            guard let schedule = job.settings["schedule"] else {
                log.warn(job.origin, "ofelia job \(job.name) has no schedule; left out")
                continue
            }
            document.spec.set(
                "schedule", .text(CompanionConventions.schedule(schedule.value, origin: schedule.origin, log: &log), at: schedule.origin.location),
                from: schedule.origin
            )
            let made: SpecFields?
            switch job.type {
            case "job-exec": made = execTemplate(job, document: &document)
            case "job-run": made = runTemplate(job)
            default:
                log.warn(job.origin, "not translated: ofelia \(job.type) jobs run outside the project's containers; declare it as a CronJob")
                continue
            }
            guard var template = made else { continue }
            for (setting, entry) in job.settings.sorted(by: { $0.key < $1.key }) {
                switch setting {
                case "schedule", "command", "image", "container", "network", "volume", "delete": continue
                case "no-overlap":
                    document.spec.set("concurrencyPolicy", .text(entry.value.lowercased() == "true" ? "Forbid" : "Allow"), from: entry.origin)
                case "user": template.set("user", .text(entry.value), from: entry.origin)
                case "tty": template.set("tty", InputNode(.bool(entry.value.lowercased() == "true")), from: entry.origin)
                default: log.warn(entry.origin, "not translated: an ofelia job setting Berth has no field for")
                }
            }
            document.jobTemplate = template
            guard document.validated(log: &log) != nil else { continue }
            if let file = files.firstIndex(where: { $0.name == "\(carrierName).yaml" }) {
                files[file].documents.append(document)
            } else {
                files.append(GeneratedFile(name: "\(carrierName).yaml", documents: [document]))
            }
        }
    }

    /// job-exec runs a command in the service's running container; the CronJob runs it, without
    /// the image's entrypoint or a shell, in a new container of the same spec.
    private mutating func execTemplate(_ job: CompanionConventions.OfeliaJob, document: inout BerthDocument) -> SpecFields? {
        var target = job.carrier
        if let container = job.settings["container"]?.value {
            target =
                services.keys.sorted().first { name in
                    [name, "\(project.name)-\(name)-1", "\(project.name)_\(name)_1"].contains(container)
                        || project.document[compose: "services"]?[compose: name]?[compose: "container_name"]?.scalarText == container
                } ?? container
        }
        guard let service = services[target] else {
            log.warn(job.origin, "ofelia job \(job.name) runs in container \(target.quoted), which is not a translated service; left out")
            return nil
        }
        var template = service.translation.document.spec.only(Self.templateKeys)
        if let networks = template["networks"] {
            // The cron container must not answer to the service's aliases or take its address.
            let names = networks.listItems.map { item in item[compose: "name"] ?? item }
            if let field = template.fields.first(where: { $0.key == "networks" }) {
                template.set("networks", InputNode(.list(names), location: networks.location), from: field.origin)
            }
        }
        let command = job.settings["command"]
        let words = CompanionConventions.words(command?.value ?? "")
        let origin = command?.origin ?? job.origin
        template.set("entrypoint", InputNode(.list(words.map { .text($0) }), location: origin.location), from: origin)
        template.set("command", InputNode(.list([])), from: origin)
        document.notes.append("ofelia job-exec \(job.name): ofelia ran the command in the running container of \(target); Berth runs it in a new container of the same spec")
        return template
    }

    private mutating func runTemplate(_ job: CompanionConventions.OfeliaJob) -> SpecFields? {
        var template = SpecFields()
        guard let image = job.settings["image"] else {
            log.warn(job.origin, "ofelia job-run \(job.name) starts an existing container rather than an image: not translated")
            return nil
        }
        template.set("image", .text(image.value), from: image.origin)
        if let command = job.settings["command"] {
            let words = CompanionConventions.words(command.value)
            template.set("command", InputNode(.list(words.map { .text($0) })), from: command.origin)
        }
        if let network = job.settings["network"] {
            let composeName = network.value.hasPrefix("\(project.name)_") ? String(network.value.dropFirst(project.name.count + 1)) : network.value
            if let name = names.networks[composeName] {
                template.set("networks", InputNode(.list([.text(name)])), from: network.origin)
            } else {
                log.warn(network.origin, "network \(network.value.quoted) is not a network of the project; the job joins the project's default network")
            }
        }
        if let volume = job.settings["volume"] {
            // A compose volume, by its name or compose's engine name <project>_<name>, is the project's Volume.
            var parts = volume.value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            let source = parts[0].hasPrefix("\(project.name)_") ? String(parts[0].dropFirst(project.name.count + 1)) : parts[0]
            if let name = names.volumes[source] { parts[0] = name }
            template.append("volumes", .text(parts.joined(separator: ":")), from: volume.origin)
        }
        return template
    }

    // MARK: The project's own resources

    private mutating func projectDocuments(networks: [InputNode.Entry], volumes: [InputNode.Entry]) -> [BerthDocument] {
        var documents: [BerthDocument] = []
        if project.name != ResourceID.defaultProject {
            documents.append(BerthDocument(kind: .project, name: project.name, project: project.name, origin: root))
        }
        for entry in networks {
            if let document = networkDocument(entry) { documents.append(document) }
        }
        for entry in volumes {
            documents.append(volumeDocument(entry))
        }
        for (name, origin) in impliedVolumes.sorted(by: { $0.key < $1.key }) where names.volumes.names.values.contains(name) == false {
            var document = BerthDocument(kind: .volume, name: name, project: project.name, origin: origin)
            document.spec.set("reclaimPolicy", .text(ReclaimPolicy.retain.rawValue), from: origin)
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
        if value[compose: "external"]?.isTrue == true {
            document.spec.set("external", InputNode(.bool(true)), from: field.child("external", at: value[compose: "external"]?.location))
            document.spec.set("networkName", .text(value[compose: "name"]?.scalarText ?? entry.key), from: field.child("name", at: value[compose: "name"]?.location))
            for setting in value.mappingEntries where !["external", "name"].contains(setting.key) {
                log.warn(field.child(setting.key, at: setting.fieldLocation), "an external network is used as it is; \(setting.key) is left out")
            }
            return document
        }
        for setting in value.mappingEntries {
            let part = field.child(setting.key, at: setting.fieldLocation)
            switch setting.key {
            case "driver": document.spec.set("driver", setting.value, from: part)
            case "driver_opts": document.spec.set("options", setting.value, from: part)
            case "internal": document.spec.set("internal", setting.value, from: part)
            case "enable_ipv6": document.spec.set("enableIPv6", setting.value, from: part)
            case "labels": document.spec.set("labels", setting.value, from: part)
            case "ipam": ipam(setting.value, part, into: &document.spec)
            case "name":
                // Compose's own `<project>_<network>` needs no word: Berth's is berth-<project>-<network>.
                if setting.value.scalarText != "\(project.name)_\(entry.key)" {
                    log.warn(part, "Berth names the network berth-\(project.name)-\(name) on the engine, not \(setting.value.scalarText ?? "")")
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

    private mutating func ipam(_ value: InputNode, _ field: ComposeOrigin, into spec: inout SpecFields) {
        for setting in value.mappingEntries where setting.key != "config" {
            if setting.key == "driver", setting.value.scalarText == "default" { continue }
            log.warn(field.child(setting.key, at: setting.fieldLocation), "Berth uses the engine's default address management; \(setting.key) is left out")
        }
        let configs = value[compose: "config"]?.listItems ?? []
        guard let first = configs.first else { return }
        var ipam: [(String, InputNode)] = []
        for setting in first.mappingEntries {
            let part = field.child("config[0].\(setting.key)", at: setting.fieldLocation)
            switch setting.key {
            case "subnet", "gateway": ipam.append((setting.key, setting.value))
            default: log.warn(part, "Berth sets a subnet and gateway only; \(setting.key) is left out")
            }
        }
        for (index, config) in configs.enumerated().dropFirst() {
            log.warn(field.child("config[\(index)]", at: config.location), "Berth sets one subnet per network; this one is left out")
        }
        if !ipam.isEmpty { spec.set("ipam", .mapping(ipam, at: first.location), from: field) }
    }

    private mutating func volumeDocument(_ entry: InputNode.Entry) -> BerthDocument {
        let field = origin("volumes", entry)
        let name = names.volumes[entry.key] ?? NameMapping.berthName(entry.key)
        var document = BerthDocument(kind: .volume, name: name, project: project.name, origin: field)
        let value = entry.value
        let engineName = "berth-\(project.name)-\(name)"
        let composeName = value[compose: "name"]?.scalarText ?? "\(project.name)_\(entry.key)"
        for setting in value.mappingEntries {
            let part = field.child(setting.key, at: setting.fieldLocation)
            switch setting.key {
            case "driver": document.spec.set("driver", setting.value, from: part)
            case "driver_opts": document.spec.set("options", setting.value, from: part)
            case "labels": document.spec.set("labels", setting.value, from: part)
            case "name", "external": break
            default:
                if !setting.value.isEmptyValue { log.warn(part, "not translated: a volume setting Berth has no field for") }
            }
        }
        document.spec.set("reclaimPolicy", .text(ReclaimPolicy.retain.rawValue), from: field)
        if value[compose: "external"]?.isTrue == true {
            log.warn(
                field, "Berth has no external volumes: it declares Volume \(name) (engine volume \(engineName)); the data of the existing volume \(composeName) stays there until you copy it over")
        } else {
            log.warn(field, "compose keeps this volume's data in the engine volume \(composeName); Berth's Volume \(name) is \(engineName): copy the data over before switching")
        }
        document.notes.append("compose volume \(entry.key): its data is in the engine volume \(composeName); Berth uses \(engineName)")
        return document
    }

    /// Where each secret and config is mounted, for the project file's header.
    private func fileMountNotes() -> [String] {
        var notes: [String] = []
        for section in ["secrets", "configs"] {
            for entry in project.document[compose: section]?.mappingEntries ?? [] {
                let users = serviceOrder.filter { name in
                    project.document[compose: "services"]?[compose: name]?[compose: section]?.listItems.contains { $0[compose: "source"]?.scalarText == entry.key } == true
                }
                let file = entry.value[compose: "file"]?.scalarText.map { "file \($0)" } ?? "not a file (see the warnings)"
                let mounted = users.isEmpty ? "mounted by no service" : "mounted read-only by \(users.joined(separator: ", "))"
                notes.append("\(section.dropLast()) \(entry.key): \(file), \(mounted)")
            }
        }
        return notes
    }

    // MARK: The whole

    /// Checks the resources against each other as `berth validate` does; what it still refuses is
    /// a warning (the files are written, and `berth validate` names the same problem).
    private mutating func checkTogether() {
        let resources = files.flatMap(\.documents).compactMap { document -> Resource? in
            var copy = document
            var quiet = WarningLog()
            return copy.validated(log: &quiet)
        }
        do throws(ValidationError) {
            _ = try DesiredState.validate(resources)
        } catch {
            for issue in error.issues {
                let document = files.flatMap(\.documents).first { issue.resource == ResourceID(kind: $0.kind, project: $0.project, name: $0.name) }
                log.warn(document?.origin ?? root, "the translation does not validate: \(issue.message)")
            }
        }
    }
}
