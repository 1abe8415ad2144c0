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
        /// The project's volumes and networks that exist on the engine (`--adopt`), by compose
        /// name → engine name: each becomes an `external` Volume or Network under that name, so
        /// the data and the containers' attachments stay where they are.
        public var existingVolumes: [String: String]
        public var existingNetworks: [String: String]

        public init(sourceRoot: String? = nil, existingVolumes: [String: String] = [:], existingNetworks: [String: String] = [:]) {
            self.sourceRoot = sourceRoot
            self.existingVolumes = existingVolumes
            self.existingNetworks = existingNetworks
        }
    }

    /// The name of the file that holds the project's own resources (no Berth name has `_`, so no
    /// service's file can take it).
    public static let projectFileName = "_project.yaml"

    public static func translate(_ project: ComposeProject, options: Options = Options()) -> ComposeTranslation {
        var translation = ProjectTranslation(project: project, existingVolumes: options.existingVolumes, existingNetworks: options.existingNetworks)
        translation.run()
        let writer = ManifestWriter(sourceRoot: options.sourceRoot ?? project.directory)
        let header =
            ["Berth manifests for compose project \(project.name), written by berth import compose from:"]
            + project.files.map { "  \(writer.relative($0))" }
        var files: [String: String] = [:]
        for file in translation.files where !file.documents.isEmpty {
            files[file.name] = writer.text(file.documents, header: header + file.notes)
        }
        return ComposeTranslation(
            files: files, warnings: project.warnings + translation.log.warnings, serviceNames: translation.names.services.names.filter { !translation.companions.contains($0.key) })
    }
}

/// Berth manifests for a compose project, and everything that was not translated as written.
public struct ComposeTranslation: Sendable, Hashable {
    /// File name → YAML text: `<service>.yaml` for each compose service, and
    /// ``ComposeTranslator/projectFileName`` for the project, its volumes and networks.
    public var files: [String: String]
    /// The loader's warnings, then the translation's, each naming the compose field and place.
    public var warnings: [ComposeWarning]
    /// Compose service name → Berth Service name, for the services translated (not the
    /// companions a convention replaces).
    public var serviceNames: [String: String]

    public init(files: [String: String], warnings: [ComposeWarning], serviceNames: [String: String] = [:]) {
        self.files = files
        self.warnings = warnings
        self.serviceNames = serviceNames
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
    var services: [String: (translation: ServiceTranslation, resource: Resource)] = [:]
    var serviceOrder: [String] = []
    /// Services left out because a companion convention replaces them.
    var companions: Set<String> = []
    var ofeliaJobs: [CompanionConventions.OfeliaJob] = []
    var impliedVolumes: [String: ComposeOrigin] = [:]

    /// Compose name → engine name of the volumes and networks to use as they are (`--adopt`).
    let existingVolumes: [String: String]
    let existingNetworks: [String: String]

    init(project: ComposeProject, existingVolumes: [String: String] = [:], existingNetworks: [String: String] = [:]) {
        self.project = project
        self.existingVolumes = existingVolumes
        self.existingNetworks = existingNetworks
    }

    /// Where the project itself is declared: its `name`, else the top of the first file.
    var root: ComposeOrigin {
        let name = (project.document.entries ?? []).first { $0.key == "name" }
        return ComposeOrigin(field: "name", location: name?.fieldLocation ?? project.document.location)
    }

    func origin(_ section: String, _ entry: InputNode.Entry) -> ComposeOrigin {
        ComposeOrigin(field: "\(section).\(entry.key)", location: entry.fieldLocation)
    }

    mutating func run() {
        let document = project.document
        for entry in document.entries ?? [] where !entry.key.hasPrefix("x-") {
            if !["name", "services", "networks", "volumes", "secrets", "configs"].contains(entry.key) {
                log.warn(ComposeOrigin(field: entry.key, location: entry.fieldLocation), "not translated: not a top-level compose field Berth knows")
            }
        }
        let services = document["services"]?.entries ?? []
        let networks = document["networks"]?.entries ?? []
        let volumes = document["volumes"]?.entries ?? []
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
            project: project.name, names: names, secrets: project.document["secrets"], configs: project.document["configs"], log: log
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
            // The document was read back when translated; what is added here (a restart policy and
            // dependencies on translated services) is added to what was read too, not read again.
            guard var (service, resource) = services[composeName], case .service(var spec) = resource.spec else { continue }
            if oneOffSteps.contains(composeName), service.document.spec["restart"] == nil {
                // Compose runs it once (its default restart is no); Berth's default would run it again after it ends.
                service.document.spec.set("restart", .string(RestartPolicy.never.rawValue), from: service.document.origin)
                spec.restart = .never
                log.warn(service.document.origin, "other services wait for this one to complete: it runs once (restart: never, compose's default), not kept running")
            }
            for dependency in service.dependencies {
                guard let found = services[dependency.composeName] else {
                    let why = companions.contains(dependency.composeName) ? "is left out (a companion Berth replaces)" : "was not translated"
                    log.warn(dependency.origin, "service \(dependency.composeName.quotedForMessage) \(why); the dependency is left out")
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
                let target = found.translation.document.name
                let item: InputNode =
                    condition == .started
                    ? .string(target, at: dependency.origin.location)
                    : .map([("name", .string(target)), ("condition", .string(condition.rawValue))], at: dependency.origin.location)
                service.document.spec.append("dependsOn", item, from: dependency.origin)
                spec.dependsOn.append(Dependency(name: target, condition: condition))
            }
            resource.spec = .service(spec)
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

    // MARK: The whole

    /// Checks the resources against each other as `berth validate` does; what it still refuses is
    /// a warning (the files are written, and `berth validate` names the same problem).
    private mutating func checkTogether() {
        // Each Service was read back when it was translated (`services` keeps what was read): only
        // the other documents are read here.
        let readServices = Dictionary(services.values.map { ($0.translation.document.name, $0.resource) }) { first, _ in first }
        let resources = files.flatMap(\.documents).compactMap { document -> Resource? in
            if document.kind == .service, let resource = readServices[document.name] { return resource }
            var copy = document
            var quiet = WarningLog()
            return copy.validated(log: &quiet)
        }
        do throws(ValidationError) {
            try DesiredState.check(resources)
        } catch {
            for issue in error.issues {
                let document = files.flatMap(\.documents).first { issue.resource == ResourceID(kind: $0.kind, project: $0.project, name: $0.name) }
                log.warn(document?.origin ?? root, "the translation does not validate: \(issue.message)")
            }
        }
    }
}
