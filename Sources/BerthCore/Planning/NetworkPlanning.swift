/// The network rules of the planner: create what is declared (and each project's default network
/// on demand), recreate what drifted by detaching and re-attaching Berth's containers, attach
/// containers that lost a network, and remove what is no longer declared once nothing uses it.
/// Networks without Berth's labels are never touched.
extension PlanBuilder {
    mutating func planNetworks() {
        for (id, spec) in desired.networks {
            let name = spec.engineName(project: id.project, name: id.name)
            if spec.external {
                if networksByName[name] == nil, !foreignNetworks.contains(name) {
                    missingNetworks.insert(name)
                    plan.warnings.append(Warning(resource: id, message: "external network \(name) does not exist; create it, or drop external to let Berth create it"))
                }
                continue
            }
            let hash = desired.specHashes[id] ?? SpecHash.of(spec)
            if let existing = networksByName[name] {
                if existing.specHash != hash { recreateNetwork(existing, id, spec, hash) }
            } else if foreignNetworks.contains(name) {
                missingNetworks.insert(name)
                plan.warnings.append(
                    Warning(resource: id, message: "network \(name) exists without Berth labels; Berth does not take it over (declare it with external: true and networkName to use it as it is)"))
            } else {
                networkCreations[name] = add(.createNetwork(target: NetworkTarget(id, spec, hash: hash)), id, "missing")
            }
        }
    }

    /// Docker cannot change a network: detach Berth's containers, remove it, create it anew; the
    /// service rules attach the containers again in dependency order.
    private mutating func recreateNetwork(_ existing: ObservedNetwork, _ id: ResourceID, _ spec: NetworkSpec, _ hash: String) {
        let cause = "spec changed: " + Self.networkChanges(existing, spec)
        let managed = Dictionary(allContainers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let strangers = existing.containers.filter { managed[$0] == nil }
        if !strangers.isEmpty {
            plan.warnings.append(
                Warning(
                    resource: id,
                    message:
                        "network \(existing.name) must be recreated (\(cause)) but containers Berth did not create are attached: \(strangers.sorted().joined(separator: ", ")); detach them to let Berth recreate it"
                ))
            return
        }
        let jobs = existing.containers.filter { managed[$0]?.objectKind != .service }
        if !jobs.isEmpty {
            plan.waits.append(Wait(resource: id, reason: "network \(existing.name) is recreated once \(jobs.sorted().joined(separator: ", ")) ended (\(cause))"))
            return
        }
        let detached = existing.containers.sorted().map { container in
            add(.disconnectContainer(name: container, network: existing.name), id, cause)
        }
        let removal = add(.removeNetwork(name: existing.name), id, cause, after: detached)
        networkCreations[existing.name] = add(.createNetwork(target: NetworkTarget(id, spec, hash: hash)), id, cause, after: [removal])
        detachedContainers.formUnion(existing.containers)
    }

    /// The fields of a network's spec that differ from what the engine reports.
    static func networkChanges(_ existing: ObservedNetwork, _ spec: NetworkSpec) -> String {
        var fields: [String] = []
        if existing.driver != spec.driver { fields.append("driver") }
        if existing.internal != spec.internal { fields.append("internal") }
        if existing.enableIPv6 != spec.enableIPv6 { fields.append("enableIPv6") }
        if let subnet = spec.ipam?.subnet, !existing.subnets.contains(subnet) { fields.append("ipam") }
        return fields.isEmpty ? "labels, options or ipam" : fields.joined(separator: ", ")
    }

    /// The endpoints a service's containers get, and the actions their creation must follow; `nil`
    /// when a network they need cannot exist now (a wait or warning says which).
    mutating func networkGate(_ id: ResourceID, _ spec: ServiceSpec) -> (endpoints: [NetworkEndpoint], after: [Int])? {
        let endpoints = desired.endpoints(of: spec.container, project: id.project, alias: id.name)
        if let missing = endpoints.first(where: { missingNetworks.contains($0.network) }) {
            plan.waits.append(Wait(resource: id, reason: "network \(missing.network) does not exist"))
            return nil
        }
        return (endpoints, endpoints.compactMap { networkCreations[$0.network] })
    }

    /// Attaches a container whose spec is current to each network it should be on but is not
    /// (detached above for a recreate, or by hand).
    mutating func reattach(_ container: ObservedContainer, _ id: ResourceID, _ endpoints: [NetworkEndpoint]) {
        let detached = detachedContainers.contains(container.name)
        for endpoint in endpoints where detached || !container.endpoints.contains(where: { $0.network == endpoint.network }) {
            guard !missingNetworks.contains(endpoint.network) else { continue }
            let creation = networkCreations[endpoint.network].map { [$0] } ?? []
            let cause = creation.isEmpty ? "not attached to network \(endpoint.network)" : "network \(endpoint.network) was recreated"
            lastReattach = add(.connectContainer(name: container.name, endpoint: endpoint), id, cause, after: creation + (lastReattach.map { [$0] } ?? []))
        }
    }

    /// Removes Berth's networks that are no longer declared (reclaim policy Delete) within the
    /// projects in scope, once no container is attached; a project's default network stays while
    /// the project declares anything.
    mutating func planOrphanNetworks() {
        let scope = desired.referencedProjects
        let desiredNames = Set(desired.networks.map { $0.spec.engineName(project: $0.id.project, name: $0.id.name) })
        for network in networksByName.values.sorted(by: { $0.name < $1.name }) {
            guard let project = network.project, let name = network.resourceName, scope.contains(project),
                !desiredNames.contains(network.name), network.reclaimPolicy == .delete
            else { continue }
            if name == NetworkAttachment.defaultNetwork, desired.declaredProjects.contains(project) { continue }
            let id = ResourceID(kind: .network, project: project, name: name)
            let remaining = network.containers.filter { removedContainers[$0] == nil }
            if remaining.isEmpty {
                let removals = network.containers.compactMap { removedContainers[$0] }
                add(.removeNetwork(name: network.name), id, "orphaned: no longer declared", after: removals)
            } else {
                plan.waits.append(Wait(resource: id, reason: "orphaned network \(network.name) is still used by \(remaining.sorted().joined(separator: ", "))"))
            }
        }
    }
}

extension NetworkTarget {
    /// The network Berth creates for a Network resource (or a project's implicit default one).
    public init(_ id: ResourceID, _ spec: NetworkSpec, hash: String) {
        var labels = PlanBuilder.labels(id, kind: .network, hash: hash)
        labels[LabelKey.reclaimPolicy] = spec.reclaimPolicy.rawValue
        labels.merge(spec.labels) { own, _ in own }
        self.init(name: spec.engineName(project: id.project, name: id.name), spec: spec, labels: labels)
    }
}

extension DesiredState {
    /// The networks Berth must create for a container of `project` before it can join them
    /// (external ones are used as they are).
    public func networkTargets(of container: ContainerSpec, project: String) -> [NetworkTarget] {
        container.networks.compactMap { attachment in
            guard let spec = network(project: project, name: attachment.name), !spec.external else { return nil }
            let id = ResourceID(kind: .network, project: project, name: attachment.name)
            return NetworkTarget(id, spec, hash: specHashes[id] ?? SpecHash.of(spec))
        }
    }

    /// The engine endpoints of a container of `project`: one per network it joins, answering to
    /// `alias` (a service's name) and the attachment's own aliases. Empty with an engine network mode.
    public func endpoints(of container: ContainerSpec, project: String, alias: String?) -> [NetworkEndpoint] {
        container.networks.compactMap { attachment in
            guard let spec = network(project: project, name: attachment.name) else { return nil }
            var aliases = alias.map { [$0] } ?? []
            for extra in attachment.aliases where !aliases.contains(extra) { aliases.append(extra) }
            return NetworkEndpoint(network: spec.engineName(project: project, name: attachment.name), aliases: aliases, ipv4Address: attachment.ipv4Address)
        }
    }
}
