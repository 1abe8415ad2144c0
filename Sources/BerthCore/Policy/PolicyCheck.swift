/// One thing a policy does not allow: the document field it is about and why, naming the rule.
public struct PolicyViolation: Sendable, Hashable, CustomStringConvertible {
    /// Dotted field path in the document (`spec.volumes[0]`, `spec.env.TOKEN`).
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}

/// Checks a resource or job written by someone other than the operator against its project's
/// policy. Pure: what it needs of the host (symlinks) and of the store (the project's services,
/// its jobs not yet ended) is handed in, so every rule is tested without either.
public struct PolicyCheck: Sendable {
    public var project: String
    public var policy: ProjectPolicy
    /// Limits the project gives containers that declare none (they count against the policy).
    public var defaultResources: ResourceLimits?
    /// Resolves the symlinks of a normalized absolute path as the host would when it is used;
    /// the identity where there is no host to ask.
    public var resolve: @Sendable (String) -> String
    /// Paths never allowed besides ``HostPath/neverAllowed``: the engine's own socket, Berth's
    /// state directory.
    public var alsoNeverAllowed: [String]
    /// Who wrote what is checked, for messages: `API-written resources`, `API-submitted jobs`.
    public var writer: String

    /// The check for `project`, declared by `spec` (nil: no Project document, so the defaults).
    public init(
        project: String, spec: ProjectSpec?, writer: String = "API-written resources",
        alsoNeverAllowed: [String] = [], resolve: @escaping @Sendable (String) -> String = { $0 }
    ) {
        self.project = project
        self.policy = spec?.policy ?? ProjectPolicy()
        self.defaultResources = spec?.defaultResources
        self.resolve = resolve
        self.alsoNeverAllowed = alsoNeverAllowed
        self.writer = writer
    }

    /// Every violation of `resource`, in field order. `projectServices` are the project's
    /// services once the write is done (for the project's totals); `activeJobs` is the number of
    /// the project's jobs not yet ended (for a job submitted now).
    public func check(_ resource: Resource, projectServices: [ServiceSpec] = [], activeJobs: Int = 0) -> [PolicyViolation] {
        var found: [PolicyViolation] = []
        switch resource.spec {
        case .service(let spec):
            checkContainer(spec.container, at: "spec", into: &found)
            checkProjectTotals(projectServices, into: &found)
        case .job(let spec):
            checkContainer(spec.container, at: "spec", into: &found)
            checkNotify(spec.notify, at: "spec", into: &found)
            if let max = policy.maxResources.activeJobs, activeJobs >= max {
                found.append(violation("metadata.project", "project \(project) already has \(activeJobs) jobs not yet ended, the most allowed", rule: "maxResources.activeJobs: \(max)"))
            }
        case .cronJob(let spec):
            checkContainer(spec.jobTemplate.container, at: "spec.jobTemplate", into: &found)
            checkNotify(spec.jobTemplate.notify, at: "spec.jobTemplate", into: &found)
        case .jobTemplate(let spec):
            checkContainer(spec.job.container, at: "spec.job", into: &found)
        case .volume(let spec):
            if spec.external {
                if !policy.externalVolumes {
                    found.append(violation("spec.external", "adopting an existing volume is not allowed", rule: "externalVolumes"))
                }
            } else if !policy.volumeDrivers.contains(spec.driver) {
                found.append(violation("spec.driver", "volume driver \(spec.driver) is not allowed", rule: "volumeDrivers: \(policy.volumeDrivers.joined(separator: ", "))"))
            }
            // The local driver's `device` option binds a host folder (`o: bind`), like a bind mount.
            if let device = spec.options["device"], device.hasPrefix("/") {
                checkHostPath(device, field: "spec.options.device", into: &found)
            }
        case .network(let spec):
            if spec.external {
                if !policy.externalNetworks {
                    found.append(violation("spec.external", "adopting an existing network is not allowed", rule: "externalNetworks"))
                }
            } else if !policy.networkDrivers.contains(spec.driver) {
                found.append(violation("spec.driver", "network driver \(spec.driver) is not allowed", rule: "networkDrivers: \(policy.networkDrivers.joined(separator: ", "))"))
            }
        case .certificate(let spec):
            if case .hostPath(let folder) = spec.target {
                checkHostPath(folder, field: "spec.target.hostPath", into: &found)
            }
        case .project, .bucket:
            break
        }
        return found
    }

    /// The violations of every resource of a project whose policy applies to all writers
    /// (`appliesTo: all`), as validation issues at each resource's document: how `berth validate`
    /// and every command reading manifests hold an operator's own manifests to their policy.
    /// Paths are compared as written (normalized, no symlinks resolved: the manifests may be
    /// checked away from the host).
    public static func manifestIssues(_ state: DesiredState) -> [ValidationIssue] {
        var issues: [ValidationIssue] = []
        for resource in state.resources {
            let project = resource.kind == .project ? resource.metadata.name : resource.metadata.project
            guard let spec = state.projects[project], (spec.policy ?? ProjectPolicy()).binds(.manifest) else { continue }
            var check = PolicyCheck(project: project, spec: spec, writer: "manifests")
            // Encrypted values in manifests are the operator's own: the repository holds them.
            check.policy.decryptSecrets = true
            let services = state.services.filter { $0.id.project == project }.map(\.spec)
            for violation in check.check(resource, projectServices: services) {
                issues.append(ValidationIssue(resource: resource.id, path: violation.field, location: resource.location, message: violation.message))
            }
        }
        return issues
    }

    private func checkContainer(_ container: ContainerSpec, at base: String, into found: inout [PolicyViolation]) {
        if let images = policy.images, !images.contains(where: { ImagePattern.matches(container.image.description, $0) }) {
            found.append(violation("\(base).image", "image \(container.image) is not allowed", rule: "images: \(images.joined(separator: ", "))"))
        }
        if container.network == .host, !policy.hostNetwork {
            found.append(violation("\(base).network", "network host is not allowed", rule: "hostNetwork"))
        }
        for (index, mount) in container.volumes.enumerated() {
            if case .hostPath(let path) = mount.source {
                checkHostPath(path, field: "\(base).volumes[\(index)]", into: &found)
            }
        }
        for (name, value) in container.env.sorted(by: { $0.key < $1.key }) {
            switch value {
            case .literal: break
            case .fromEnv(let variable) where !policy.envFromController.contains(variable):
                found.append(violation("\(base).env.\(name)", "the controller's environment variable \(variable) is not allowed", rule: "envFromController"))
            case .fromEnv: break
            case .fromFile(let path): checkHostPath(path, field: "\(base).env.\(name)", into: &found)
            case .encrypted where !policy.decryptSecrets:
                found.append(violation("\(base).env.\(name)", "an age-encrypted value (decrypted by the controller) is not allowed", rule: "decryptSecrets"))
            case .encrypted: break
            }
        }
        // A bound on the project's total needs every container to declare what it takes.
        let limits = container.resources.filled(from: defaultResources)
        let max = policy.maxResources
        if let memory = limits?.memory {
            if let allowed = max.containerMemory, memory > allowed {
                found.append(violation("\(base).resources.memory", "memory \(memory) is above the most allowed", rule: "maxResources.containerMemory: \(allowed)"))
            }
        } else if let rule = max.containerMemory.map({ "containerMemory: \($0)" }) ?? max.projectMemory.map({ "projectMemory: \($0)" }) {
            found.append(violation("\(base).resources.memory", "a memory limit is required", rule: "maxResources.\(rule)"))
        }
        if let cpus = limits?.cpus {
            if let allowed = max.containerCpus, cpus > allowed {
                found.append(violation("\(base).resources.cpus", "cpus \(cpus) is above the most allowed", rule: "maxResources.containerCpus: \(allowed)"))
            }
        } else if let rule = max.containerCpus.map({ "containerCpus: \($0)" }) ?? max.projectCpus.map({ "projectCpus: \($0)" }) {
            found.append(violation("\(base).resources.cpus", "a CPU limit is required", rule: "maxResources.\(rule)"))
        }
        checkOptions(container.options, at: base, into: &found)
    }

    private func checkProjectTotals(_ services: [ServiceSpec], into found: inout [PolicyViolation]) {
        let max = policy.maxResources
        let replicas = services.reduce(0) { $0 + $1.replicas }
        if let allowed = max.replicas, replicas > allowed {
            found.append(violation("spec.replicas", "the project's services would have \(replicas) replicas in all", rule: "maxResources.replicas: \(allowed)"))
        }
        let limits = services.map { ($0.replicas, $0.container.resources.filled(from: defaultResources)) }
        if let allowed = max.projectMemory {
            let bytes = limits.reduce(Int64(0)) { total, item in total &+ Int64(item.0) &* (item.1?.memory?.bytes ?? 0) }
            if bytes > allowed.bytes {
                found.append(violation("spec.resources.memory", "the project's services would have \(ByteSize(bytes: bytes)) of memory in all", rule: "maxResources.projectMemory: \(allowed)"))
            }
        }
        if let allowed = max.projectCpus {
            let millicores = limits.reduce(0) { total, item in total &+ item.0 &* (item.1?.cpus?.millicores ?? 0) }
            if millicores > allowed.millicores {
                found.append(violation("spec.resources.cpus", "the project's services would have \(CPUQuantity(millicores: millicores)) CPUs in all", rule: "maxResources.projectCpus: \(allowed)"))
            }
        }
    }

    /// A webhook reaches only the policy's `webhookHosts`, and its secret file lies in its
    /// `hostPaths`: the controller reads that file, so an API writer could otherwise have any
    /// host file used (and probed) as a key.
    private func checkNotify(_ notify: JobNotifySpec?, at base: String, into found: inout [PolicyViolation]) {
        guard let notify else { return }
        if !policy.webhookHosts.contains(notify.hostPort) {
            found.append(violation("\(base).notify.url", "webhook host \(notify.hostPort) is not allowed", rule: "webhookHosts"))
        }
        checkHostPath(notify.secretFile, field: "\(base).notify.secretFile", into: &found)
    }

    /// A host path is allowed when it lies in one of the policy's `hostPaths` once normalized
    /// and resolved, and neither is, nor holds, nor lies in a path never allowed.
    private func checkHostPath(_ path: String, field: String, into found: inout [PolicyViolation]) {
        guard let normalized = HostPath.normalize(path) else {
            found.append(violation(field, "host path \(path) is not absolute", rule: "hostPaths"))
            return
        }
        let real = resolve(normalized)
        let shown = real == path ? path : "\(path) (\(real))"
        for never in HostPath.neverAllowed + alsoNeverAllowed {
            let forbidden = HostPath.normalize(never).map(resolve) ?? never
            if HostPath.isWithin(real, forbidden) || HostPath.isWithin(forbidden, real) {
                let relation = real == forbidden ? "" : HostPath.isWithin(real, forbidden) ? " (it lies in \(forbidden))" : " (it holds \(forbidden))"
                found.append(PolicyViolation(field: field, message: "host path \(shown) is never allowed for \(writer)\(relation)"))
                return
            }
        }
        guard policy.hostPaths.contains(where: { HostPath.isWithin(real, resolve($0)) }) else {
            found.append(violation(field, "host path \(shown) is not allowed", rule: "hostPaths"))
            return
        }
    }

    /// `<what> for API-written resources of project shop (policy.<rule>)`.
    func violation(_ field: String, _ what: String, rule: String) -> PolicyViolation {
        PolicyViolation(field: field, message: "\(what) for \(writer) of project \(project) (policy.\(rule))")
    }
}

extension ResourceLimits? {
    /// The limits with the project's defaults filling what is left out, as desired state applies them.
    func filled(from defaults: ResourceLimits?) -> ResourceLimits? {
        guard let defaults else { return self }
        return ResourceLimits(memory: self?.memory ?? defaults.memory, cpus: self?.cpus ?? defaults.cpus)
    }
}
