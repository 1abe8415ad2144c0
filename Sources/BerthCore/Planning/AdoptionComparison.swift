/// How an adopted container's spec, read back from the engine, is compared with the desired spec
/// of its service: field by field, both in the engine's terms, so the plan names what differs.
extension DesiredState {
    /// The recreate-relevant fields (dotted paths, as ``SpecHash/changedFields(from:to:)`` names
    /// them) in which `observed`, an adopted container's read-back spec, differs from `desired`,
    /// the spec of service `id`. Empty: the container is the replica as Berth would create it.
    public func adoptionDifferences(observed: ServiceSpec, desired: ServiceSpec, service id: ResourceID) -> [String] {
        SpecHash.changedFields(from: Self.comparable(observed), to: Self.comparable(engineView(of: desired, service: id, observed: observed)))
    }

    /// `spec` as the engine shows a container created from it: volumes and networks by their
    /// engine names, the service's own name among its network aliases. Values Berth resolves
    /// itself (`fromEnv`, `fromFile`, age-encrypted) are taken as observed: the planner never sees
    /// them, and a Berth container is not replaced when one changes either (its hash covers the
    /// reference or the ciphertext).
    func engineView(of spec: ServiceSpec, service id: ResourceID, observed: ServiceSpec) -> ServiceSpec {
        var view = spec
        view.container.volumes = spec.container.volumes.map { mount in
            guard case .volume(let name) = mount.source else { return mount }
            return Mount(source: .volume(volumeEngineName(project: id.project, name: name)), target: mount.target, readOnly: mount.readOnly)
        }
        if spec.container.network == .project {
            view.container.networks = endpoints(of: spec.container, project: id.project, alias: id.name).map { endpoint in
                NetworkAttachment(name: endpoint.network, aliases: endpoint.aliases, ipv4Address: endpoint.ipv4Address)
            }
        }
        for (key, value) in spec.container.env {
            if case .literal = value { continue }
            view.container.env[key] = observed.container.env[key] ?? value
        }
        return view
    }

    /// Lists whose order the engine does not keep (mounts, ports, networks, aliases, tmpfs) in one order.
    private static func comparable(_ spec: ServiceSpec) -> ServiceSpec {
        var spec = spec
        spec.container.volumes.sort { $0.target < $1.target }
        spec.ports.sort { $0.description < $1.description }
        spec.container.options.tmpfs.sort { $0.path < $1.path }
        spec.container.networks = spec.container.networks
            .map { NetworkAttachment(name: $0.name, aliases: $0.aliases.sorted(), ipv4Address: $0.ipv4Address) }
            .sorted { $0.name < $1.name }
        return spec
    }
}
