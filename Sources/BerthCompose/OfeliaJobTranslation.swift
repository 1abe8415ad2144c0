import BerthCore

/// The CronJobs of ofelia's job labels (see ``CompanionConventions``): `job-exec` ones from the
/// labelled service's spec, `job-run` ones from the image the labels name.
extension ProjectTranslation {
    /// The Berth fields a job-exec CronJob takes from the service whose container ofelia ran it in.
    private static let templateKeys: Set<String> = [
        "image", "workingDir", "user", "env", "volumes", "network", "networks", "resources", "stopSignal", "stopGracePeriod",
        "pullPolicy", "init", "noNewPrivileges", "logging", "ulimits", "capAdd", "capDrop", "extraHosts", "tmpfs", "shmSize",
        "sysctls", "readOnlyRootFilesystem", "pidsLimit", "dns", "dnsSearch", "devices", "securityOpt",
    ]

    /// A CronJob for each ofelia job, in the file of the service whose labels declare it.
    mutating func translateOfeliaJobs() {
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
                "schedule", .string(CompanionConventions.schedule(schedule.value, origin: schedule.origin, log: &log), at: schedule.origin.location),
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
                    document.spec.set("concurrencyPolicy", .string(entry.value.lowercased() == "true" ? "Forbid" : "Allow"), from: entry.origin)
                case "user": template.set("user", .string(entry.value), from: entry.origin)
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
                        || project.document["services"]?[name]?["container_name"]?.scalarText == container
                } ?? container
        }
        guard let service = services[target] else {
            log.warn(job.origin, "ofelia job \(job.name) runs in container \(target.quotedForMessage), which is not a translated service; left out")
            return nil
        }
        var template = service.translation.document.spec.only(Self.templateKeys)
        if let networks = template["networks"] {
            // The cron container must not answer to the service's aliases or take its address.
            let names = networks.listItems.map { item in item["name"] ?? item }
            if let field = template.fields.first(where: { $0.key == "networks" }) {
                template.set("networks", InputNode(.list(names), location: networks.location), from: field.origin)
            }
        }
        let command = job.settings["command"]
        let origin = command?.origin ?? job.origin
        let words = commandWords(command?.value ?? "", origin)
        template.set("entrypoint", InputNode(.list(words.map { .string($0) }), location: origin.location), from: origin)
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
        template.set("image", .string(image.value), from: image.origin)
        if let command = job.settings["command"] {
            let words = commandWords(command.value, command.origin)
            template.set("command", InputNode(.list(words.map { .string($0) })), from: command.origin)
        }
        if let network = job.settings["network"] {
            let composeName = network.value.hasPrefix("\(project.name)_") ? String(network.value.dropFirst(project.name.count + 1)) : network.value
            if let name = names.networks[composeName] {
                template.set("networks", InputNode(.list([.string(name)])), from: network.origin)
            } else {
                log.warn(network.origin, "network \(network.value.quotedForMessage) is not a network of the project; the job joins the project's default network")
            }
        }
        if let volume = job.settings["volume"] {
            // A compose volume, by its name or compose's engine name <project>_<name>, is the project's Volume.
            var parts = volume.value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            let source = parts[0].hasPrefix("\(project.name)_") ? String(parts[0].dropFirst(project.name.count + 1)) : parts[0]
            if let name = names.volumes[source] { parts[0] = name }
            template.append("volumes", .string(parts.joined(separator: ":")), from: volume.origin)
        }
        return template
    }

    /// An ofelia command split into words as a shell splits it; one that does not split (an
    /// unclosed quote) is split at blanks, with a warning.
    private mutating func commandWords(_ line: String, _ origin: ComposeOrigin) -> [String] {
        do {
            return try ShellWords.split(line)
        } catch {
            log.warn(origin, "the command \(line.quotedForMessage) \(error.message); it is split at blanks")
            return line.split(whereSeparator: \.isWhitespace).map(String.init)
        }
    }
}
