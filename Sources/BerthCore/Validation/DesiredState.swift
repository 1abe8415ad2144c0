/// The validated, normalized desired state: every resource with its project's defaults applied, checked
/// against the others. Build it with ``DesiredState/validate(_:)``.
public struct DesiredState: Sendable, Hashable {
    /// Every resource, sorted by identity.
    public private(set) var resources: [Resource]
    /// Declared projects plus the implicit `default`.
    public private(set) var projects: [String: ProjectSpec]
    /// The spec hash of every service and volume, computed once when the state is built.
    public private(set) var specHashes: [ResourceID: String] = [:]
    /// The canonical spec JSON of every service (the `berth.spec` label), computed with its hash.
    public private(set) var canonicalSpecs: [ResourceID: String] = [:]
    /// Services by identity, in identity order (kept beside `resources` so planning copies nothing).
    public private(set) var services: [(id: ResourceID, spec: ServiceSpec)] = []
    /// Volumes by identity, in identity order.
    public private(set) var volumes: [(id: ResourceID, spec: VolumeSpec)] = []
    /// Networks by identity, in identity order: the declared ones, and each project's implicit
    /// `default` network when a service, job or cron job of the project joins it without a
    /// Network named `default` being declared.
    public private(set) var networks: [(id: ResourceID, spec: NetworkSpec)] = []
    /// Buckets by identity, in identity order.
    public private(set) var buckets: [(id: ResourceID, spec: BucketSpec)] = []
    /// Projects that at least one resource names (including declared ones); pruning is scoped to these.
    public private(set) var referencedProjects: Set<String> = []
    /// Projects that at least one declared resource names: their default networks are kept.
    public private(set) var declaredProjects: Set<String> = []
    /// Resources an API writer (not the operator) wrote: they never manage a bucket Berth did not create.
    public private(set) var writtenByAPIWriters: Set<ResourceID> = []

    /// An empty desired state (only the implicit `default` project).
    public init() {
        resources = []
        projects = [ResourceID.defaultProject: ProjectSpec()]
    }

    /// Checks resources against each other and applies project defaults; throws every problem at once.
    /// With a `memo`, services whose spec is unchanged since the memo's last validation reuse their hash.
    public static func validate(_ input: [Resource], memo: SpecHashMemo? = nil) throws(ValidationError) -> DesiredState {
        var state = try checked(input)
        // `checked` indexed the resources; the index is made again only if defaults changed them.
        if state.applyProjectDefaults() { state.indexByKind() }
        state.computeSpecHashes(memo: memo)
        state.referencedProjects = Set(state.resources.map { $0.kind == .project ? $0.metadata.name : $0.metadata.project })
        state.declaredProjects = state.referencedProjects
        return state
    }

    /// Checks resources against each other, as ``validate(_:)`` does, without building the state
    /// a controller plans from (what `berth import compose` needs of its translation).
    public static func check(_ input: [Resource]) throws(ValidationError) {
        _ = try checked(input)
    }

    /// The resources, indexed and checked against each other; throws every problem at once.
    private static func checked(_ input: [Resource]) throws(ValidationError) -> DesiredState {
        var state = DesiredState()
        var issues: [ValidationIssue] = []
        // Indexes into `input`, not copies of resources: copying 10,000 resources into a
        // dictionary and sorting them is most of a check otherwise.
        var first: [ResourceID: Int] = [:]
        first.reserveCapacity(input.count)
        var kept: [Int] = []
        kept.reserveCapacity(input.count)
        for index in input.indices {
            let id = input[index].id
            if let earlier = first[id] {
                let firstPlace = input[earlier].location.map { " (first declared at \($0))" } ?? ""
                issues.append(
                    ValidationIssue(
                        resource: id, location: input[index].location,
                        message: "duplicate resource: \(id) is declared twice\(firstPlace)"
                    ))
                continue
            }
            first[id] = index
            kept.append(index)
            if case .project(let spec) = input[index].spec { state.projects[input[index].metadata.name] = spec }
        }
        kept.sort { input[$0].id < input[$1].id }
        state.resources = kept.map { input[$0] }
        state.indexByKind()
        issues += CrossChecks(state: state).run()
        guard issues.isEmpty else {
            throw ValidationError(issues: issues.sorted(by: CrossChecks.sourceOrder))
        }
        return state
    }

    /// Everything else is derived from the resources, so they alone decide equality.
    public static func == (lhs: DesiredState, rhs: DesiredState) -> Bool {
        lhs.resources == rhs.resources && lhs.projects == rhs.projects
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(resources)
    }

    /// Adds projects to the pruning scope without declaring anything in them: what Berth created
    /// there and is no longer declared is removed (`berth destroy`, the last resource of a project
    /// deleted through the API).
    public mutating func includeInScope(_ projects: some Sequence<String>) {
        referencedProjects.formUnion(projects)
    }

    /// Whether the controller may decrypt age-encrypted files (`fromFile`) for what `writer` declares
    /// in `project`: always for a resource the operator declared, for an API writer's (or a job
    /// with no declaring resource, `writer` nil) only when the project's policy sets `decryptSecrets`.
    public func decryptsFiles(for writer: ResourceID?, project: String) -> Bool {
        if let writer, contains(writer), !writtenByAPIWriters.contains(writer) { return true }
        return projects[project]?.policy?.decryptSecrets == true
    }

    /// Records which resources an API writer wrote, for the rules only the operator is trusted with.
    public mutating func markWrittenByAPIWriters(_ ids: some Sequence<ResourceID>) {
        writtenByAPIWriters.formUnion(ids)
    }

    /// The same desired state with its buckets left to someone else: planned and reported as if
    /// none were declared, while `contains` still knows them (so their statuses stay). What a
    /// controller converges that does not hold the leader lease.
    public func withoutBuckets() -> DesiredState {
        var state = self
        state.buckets = []
        return state
    }

    /// Whether a resource with this identity is declared (without copying it).
    public func contains(_ id: ResourceID) -> Bool {
        index(of: id) != nil
    }

    /// The resource with this identity, if declared.
    public func resource(_ id: ResourceID) -> Resource? {
        guard let index = index(of: id) else { return nil }
        return resources[index]
    }

    private func index(of id: ResourceID) -> Int? {
        var low = 0, high = resources.count
        while low < high {
            let middle = (low + high) / 2
            if resources[middle].id < id { low = middle + 1 } else { high = middle }
        }
        return low < resources.count && resources[low].id == id ? low : nil
    }

    private mutating func computeSpecHashes(memo: SpecHashMemo?) {
        let known = memo?.snapshot() ?? [:]
        var used: [ResourceID: SpecHashMemo.Entry] = [:]
        if memo != nil { used.reserveCapacity(services.count + volumes.count) }
        for resource in resources {
            switch resource.spec {
            case .service(let spec):
                let relevant = ResourceSpec.service(spec.recreateRelevant)
                var entry: SpecHashMemo.Entry
                if let hit = known[resource.id], hit.spec == relevant {
                    entry = hit
                } else {
                    let canonical = SpecHash.canonicalJSON(spec.recreateRelevant)
                    entry = SpecHashMemo.Entry(spec: relevant, hash: SpecHash.hash(canonical), canonical: String(decoding: canonical, as: UTF8.self))
                }
                if memo != nil { used[resource.id] = entry }
                specHashes[resource.id] = entry.hash
                canonicalSpecs[resource.id] = entry.canonical ?? ""
            case .volume(let spec):
                let entry: SpecHashMemo.Entry
                if let hit = known[resource.id], hit.spec == resource.spec {
                    entry = hit
                } else {
                    entry = SpecHashMemo.Entry(spec: resource.spec, hash: SpecHash.of(spec), canonical: nil)
                }
                if memo != nil { used[resource.id] = entry }
                specHashes[resource.id] = entry.hash
            case .project, .network, .job, .cronJob, .bucket, .certificate, .jobTemplate: break
            }
        }
        for (id, spec) in networks { specHashes[id] = SpecHash.of(spec) }
        memo?.replace(with: used)
    }

    /// The network a container of `project` means by `name`: a declared Network, or the
    /// implicit default one.
    public func network(project: String, name: String) -> NetworkSpec? {
        let id = ResourceID(kind: .network, project: project, name: name)
        if case .network(let spec)? = resource(id)?.spec { return spec }
        return name == NetworkAttachment.defaultNetwork ? .implicitDefault : nil
    }

    /// The engine's name of the volume a container of `project` mounts as `name`: an external
    /// volume's own name, else Berth's `berth-<project>-<name>`.
    public func volumeEngineName(project: String, name: String) -> String {
        volume(project: project, name: name)?.engineName(project: project, name: name) ?? ObjectName.volume(project: project, name: name)
    }

    /// The declared JobTemplate `name` of `project`, if any.
    public func jobTemplate(project: String, name: String) -> JobTemplateSpec? {
        if case .jobTemplate(let spec)? = resource(ResourceID(kind: .jobTemplate, project: project, name: name))?.spec { return spec }
        return nil
    }

    /// The declared Volume a container of `project` means by `name`, if any.
    public func volume(project: String, name: String) -> VolumeSpec? {
        if case .volume(let spec)? = resource(ResourceID(kind: .volume, project: project, name: name))?.spec { return spec }
        return nil
    }

    /// Rebuilds `services`, `volumes`, `networks` and `buckets` from `resources`.
    private mutating func indexByKind() {
        services = []
        volumes = []
        networks = []
        buckets = []
        var implicitDefaults: Set<String> = []
        for resource in resources {
            switch resource.spec {
            case .service(let spec): services.append((resource.id, spec))
            case .volume(let spec): volumes.append((resource.id, spec))
            case .network(let spec): networks.append((resource.id, spec))
            case .bucket(let spec): buckets.append((resource.id, spec))
            case .project, .job, .cronJob, .certificate, .jobTemplate: break
            }
            if resource.containerSpec?.networks.contains(where: { $0.name == NetworkAttachment.defaultNetwork }) == true {
                implicitDefaults.insert(resource.metadata.project)
            }
        }
        for project in implicitDefaults {
            let id = ResourceID(kind: .network, project: project, name: NetworkAttachment.defaultNetwork)
            if !contains(id) { networks.append((id, .implicitDefault)) }
        }
        networks.sort { $0.id < $1.id }
    }

    /// Fills limits a service or job leaves out from its project's `defaultResources`; whether any
    /// project has defaults (only then can a resource have changed).
    private mutating func applyProjectDefaults() -> Bool {
        guard projects.values.contains(where: { $0.defaultResources != nil }) else { return false }
        for index in resources.indices {
            guard let defaults = projects[resources[index].metadata.project]?.defaultResources else { continue }
            switch resources[index].spec {
            case .service(var spec):
                spec.container.resources = spec.container.resources.filled(from: defaults)
                resources[index].spec = .service(spec)
            case .job(var spec):
                spec.container.resources = spec.container.resources.filled(from: defaults)
                resources[index].spec = .job(spec)
            case .cronJob(var spec):
                spec.jobTemplate.container.resources = spec.jobTemplate.container.resources.filled(from: defaults)
                resources[index].spec = .cronJob(spec)
            case .jobTemplate(var spec):
                spec.job.container.resources = spec.job.container.resources.filled(from: defaults)
                resources[index].spec = .jobTemplate(spec)
            case .project, .volume, .network, .bucket, .certificate:
                break
            }
        }
        return true
    }
}

/// The checks that need more than one resource: references, cycles, collisions.
private struct CrossChecks {
    let state: DesiredState
    var issues: [ValidationIssue] = []

    init(state: DesiredState) {
        self.state = state
    }

    static func sourceOrder(_ a: ValidationIssue, _ b: ValidationIssue) -> Bool {
        let left = (a.location?.file ?? "", a.location?.line ?? 0, a.location?.column ?? 0, a.path)
        let right = (b.location?.file ?? "", b.location?.line ?? 0, b.location?.column ?? 0, b.path)
        return left < right
    }

    consuming func run() -> [ValidationIssue] {
        var bucketOwners: [String: ResourceID] = [:]
        var published: [HostPortClaim] = []
        for resource in state.resources {
            if resource.kind != .project, state.projects[resource.metadata.project] == nil {
                report(
                    resource, "metadata.project",
                    "project \"\(resource.metadata.project)\" is not declared; add a Project document named \(resource.metadata.project) (only \"default\" exists implicitly)")
            }
            switch resource.spec {
            case .service(let spec):
                checkMounts(resource, spec.container.volumes, path: "spec.volumes")
                checkNetworks(resource, spec.container, path: "spec", replicas: spec.replicas)
                checkDependencies(resource, spec)
                checkHostPorts(resource, spec, published: &published)
            case .job(let spec):
                checkMounts(resource, spec.container.volumes, path: "spec.volumes")
                checkNetworks(resource, spec.container, path: "spec", replicas: 1)
            case .cronJob(let spec):
                checkMounts(resource, spec.jobTemplate.container.volumes, path: "spec.jobTemplate.volumes")
                checkNetworks(resource, spec.jobTemplate.container, path: "spec.jobTemplate", replicas: 1)
            case .certificate(let spec):
                checkCertificate(resource, spec)
            case .jobTemplate(let spec):
                checkMounts(resource, spec.job.container.volumes, path: "spec.job.volumes")
                checkNetworks(resource, spec.job.container, path: "spec.job", replicas: 1)
            case .bucket(let spec):
                if let owner = bucketOwners[spec.bucketName] {
                    report(resource, "spec.bucketName", "bucket \"\(spec.bucketName)\" is already declared by \(owner)")
                }
                bucketOwners[spec.bucketName] = resource.id
            case .project, .volume, .network:
                break
            }
        }
        checkDependencyCycles()
        checkObjectNames()
        return issues
    }

    private mutating func report(_ resource: Resource, _ path: String, _ message: String) {
        issues.append(ValidationIssue(resource: resource.id, path: path, location: resource.location, message: message))
    }

    private func declares(_ kind: ResourceKind, _ project: String, _ name: String) -> Bool {
        state.resource(ResourceID(kind: kind, project: project, name: name)) != nil
    }

    private mutating func checkMounts(_ resource: Resource, _ mounts: [Mount], path: String) {
        for (index, mount) in mounts.enumerated() {
            guard case .volume(let name) = mount.source, !declares(.volume, resource.metadata.project, name) else { continue }
            report(resource, "\(path)[\(index)]", "volume \"\(name)\" is not declared in project \(resource.metadata.project); add a Volume named \(name) or mount a host path")
        }
    }

    /// Every network a container joins is declared in its project (or is its `default`); a fixed
    /// address needs one replica and a declared IPv4 subnet that holds it.
    private mutating func checkNetworks(_ resource: Resource, _ container: ContainerSpec, path: String, replicas: Int) {
        let project = resource.metadata.project
        for (index, attachment) in container.networks.enumerated() {
            let field = "\(path).networks[\(index)]"
            guard let network = state.network(project: project, name: attachment.name) else {
                report(
                    resource, "\(field).name",
                    "network \"\(attachment.name)\" is not declared in project \(project); add a Network named \(attachment.name) (external: true adopts one that exists) or join default")
                continue
            }
            guard let address = attachment.ipv4Address else { continue }
            if replicas > 1 {
                report(resource, "\(field).ipv4Address", "\(replicas) replicas cannot all have address \(address); use one replica or leave the address out")
            }
            if network.external { continue }
            guard let subnet = network.ipam.flatMap({ try? Subnet(parsing: $0.subnet) }), subnet.isIPv4 else {
                report(resource, "\(field).ipv4Address", "a fixed address needs network \(attachment.name) to declare an IPv4 ipam.subnet")
                continue
            }
            if !subnet.contains(address) {
                report(resource, "\(field).ipv4Address", "address \(address) is outside subnet \(subnet) of network \(attachment.name)")
            }
        }
    }

    private mutating func checkDependencies(_ resource: Resource, _ spec: ServiceSpec) {
        for (index, dependency) in spec.dependsOn.enumerated() {
            if dependency.name == resource.metadata.name {
                report(resource, "spec.dependsOn[\(index)]", "a service cannot depend on itself")
            } else if !declares(.service, resource.metadata.project, dependency.name) {
                report(resource, "spec.dependsOn[\(index)]", "service \"\(dependency.name)\" is not declared in project \(resource.metadata.project)")
            } else if dependency.condition == .healthy,
                case .service(let target)? = state.resource(ResourceID(kind: .service, project: resource.metadata.project, name: dependency.name))?.spec,
                target.healthcheck == nil
            {
                report(resource, "spec.dependsOn[\(index)]", "condition healthy needs a healthcheck on service \"\(dependency.name)\"; add one or use condition started")
            }
        }
    }

    /// A host port some service publishes, for collision checks.
    struct HostPortClaim {
        var owner: ResourceID
        var hostIP: String?
        var port: Int
        var transport: PortMapping.Transport

        /// Two bindings collide on the same port and transport unless both name different specific addresses.
        func collides(with other: HostPortClaim) -> Bool {
            guard port == other.port, transport == other.transport else { return false }
            let wildcards: Set<String?> = [nil, "0.0.0.0", "::"]
            return wildcards.contains(hostIP) || wildcards.contains(other.hostIP) || hostIP == other.hostIP
        }
    }

    private mutating func checkHostPorts(_ resource: Resource, _ spec: ServiceSpec, published: inout [HostPortClaim]) {
        let mode = spec.container.network
        if !spec.ports.isEmpty, mode == .host || mode == .none {
            report(
                resource, "spec.ports",
                "ports are published only on a bridge or project network; with network \(mode) leave ports out (host: the process binds host ports itself; none: there is no network)")
            return
        }
        for (index, port) in spec.ports.enumerated() {
            guard let hostPort = port.hostPort else { continue }
            if spec.replicas > 1 {
                report(resource, "spec.ports[\(index)]", "\(spec.replicas) replicas cannot all publish host port \(hostPort); use one replica or leave the host port out")
            }
            let binding = HostPortClaim(owner: resource.id, hostIP: port.hostIP, port: hostPort, transport: port.transport)
            if let other = published.first(where: { $0.collides(with: binding) }) {
                let whom = other.owner == resource.id ? "another entry of this service" : "\(other.owner)"
                report(resource, "spec.ports[\(index)]", "host port \(hostPort)/\(port.transport) is also published by \(whom)")
            }
            published.append(binding)
        }
    }

    /// Docker names join project and name with `-`, which names may contain too: `web` + `shop-data`
    /// and `web-shop` + `data` would both be `berth-web-shop-data`. Such pairs are refused.
    private mutating func checkObjectNames() {
        var stems: [String: ResourceID] = [:]
        stems.reserveCapacity(state.resources.count)
        for index in state.resources.indices {
            let id = state.resources[index].id
            let stem: String
            switch id.kind {
            case .service: stem = "container " + ObjectName.serviceContainer(project: id.project, service: id.name, replica: 0)
            case .volume: stem = "volume " + ObjectName.volume(project: id.project, name: id.name)
            case .network: stem = "network " + ObjectName.network(project: id.project, name: id.name)
            case .project, .job, .cronJob, .bucket, .certificate, .jobTemplate: continue
            }
            if let other = stems[stem] {
                report(state.resources[index], "metadata.name", "its Docker \(stem) would be the same as that of \(other); rename one of them")
            }
            stems[stem] = id
        }
    }

    private mutating func checkCertificate(_ resource: Resource, _ spec: CertificateSpec) {
        let project = resource.metadata.project
        if case .volume(let name, _) = spec.target, !declares(.volume, project, name) {
            report(resource, "spec.target.volume", "volume \"\(name)\" is not declared in project \(project)")
        }
        for (index, reload) in spec.reload.enumerated() where !declares(.service, project, reload.service) {
            report(resource, "spec.reload[\(index)].service", "service \"\(reload.service)\" is not declared in project \(project), so it cannot be reloaded")
        }
    }

    /// Finds every dependency cycle once, naming its members in order.
    private mutating func checkDependencyCycles() {
        // Only services that depend on another can be on a cycle: the others are left out, so
        // 10,000 services without dependencies cost one look each.
        var edges: [ResourceID: [ResourceID]] = [:]
        for index in state.services.indices where !state.services[index].spec.dependsOn.isEmpty {
            let id = state.services[index].id
            let targets = state.services[index].spec.dependsOn.filter { $0.name != id.name }.map {
                ResourceID(kind: .service, project: id.project, name: $0.name)
            }
            if !targets.isEmpty { edges[id] = targets }
        }
        var finished: Set<ResourceID> = []
        var reported: Set<Set<ResourceID>> = []
        for start in edges.keys.sorted() where !finished.contains(start) {
            var stack: [(id: ResourceID, next: Int)] = [(start, 0)]
            var onStack: [ResourceID] = [start]
            while let top = stack.last {
                let targets = edges[top.id] ?? []
                guard top.next < targets.count else {
                    finished.insert(top.id)
                    stack.removeLast()
                    onStack.removeLast()
                    continue
                }
                stack[stack.count - 1].next += 1
                let target = targets[top.next]
                if let position = onStack.firstIndex(of: target) {
                    let cycle = Array(onStack[position...])
                    if reported.insert(Set(cycle)).inserted, let resource = state.resource(cycle[0]) {
                        let names = (cycle + [cycle[0]]).map(\.name).joined(separator: " → ")
                        report(resource, "spec.dependsOn", "dependency cycle: \(names)")
                    }
                } else if !finished.contains(target), edges[target] != nil {
                    stack.append((target, 0))
                    onStack.append(target)
                }
            }
        }
    }
}
