extension PolicyCheck {
    /// The container options that widen what a container may do to its host: capabilities beyond
    /// the engine's defaults, host devices, kernel parameters, security options that weaken
    /// confinement, log drivers that send elsewhere, and the ulimits that raise scheduling
    /// priority. Options that only narrow (`capDrop`, `readOnlyRootFilesystem`, `pidsLimit`,
    /// `no-new-privileges`) or stay inside the container need no rule.
    func checkOptions(_ options: ContainerOptions, at base: String, into found: inout [PolicyViolation]) {
        for (index, capability) in options.capAdd.enumerated() where !Capability.engineDefaults.contains(capability) {
            guard !policy.capabilities.contains(capability), !policy.capabilities.contains(.all) else { continue }
            found.append(violation("\(base).capAdd[\(index)]", "adding capability \(capability) is not allowed", rule: Self.rule("capabilities", policy.capabilities.map(\.description))))
        }
        for (index, device) in options.devices.enumerated() {
            let real = HostPath.normalize(device.hostPath).map(resolve) ?? device.hostPath
            guard !policy.devices.contains(where: { HostPath.isWithin(real, resolve($0)) }) else { continue }
            let shown = real == device.hostPath ? real : "\(device.hostPath) (\(real))"
            found.append(violation("\(base).devices[\(index)]", "host device \(shown) is not allowed", rule: Self.rule("devices", policy.devices)))
        }
        for name in options.sysctls.keys.sorted() where !policy.sysctls.contains(where: { SysctlName.matches(name, $0) }) {
            found.append(violation("\(base).sysctls.\(name)", "kernel parameter \(name) is not allowed", rule: Self.rule("sysctls", policy.sysctls)))
        }
        for (index, option) in options.securityOpt.enumerated() where !option.onlyNarrows && !policy.securityOpt.contains(option) {
            found.append(violation("\(base).securityOpt[\(index)]", "security option \(option) is not allowed", rule: Self.rule("securityOpt", policy.securityOpt.map(\.description))))
        }
        if let driver = options.logging?.driver, !policy.logDrivers.contains(driver) {
            found.append(violation("\(base).logging.driver", "log driver \(driver) is not allowed", rule: Self.rule("logDrivers", policy.logDrivers)))
        }
        for name in options.ulimits.keys.sorted() where !policy.ulimits.contains(name) {
            found.append(violation("\(base).ulimits.\(name)", "ulimit \(name) is not allowed", rule: Self.rule("ulimits", policy.ulimits)))
        }
    }

    /// `devices: /dev/fuse, /dev/snd`, or the bare name when the policy lists nothing.
    private static func rule(_ name: String, _ allowed: [String]) -> String {
        allowed.isEmpty ? name : "\(name): \(allowed.joined(separator: ", "))"
    }
}
