import BerthCore

/// `env_file` read into `environment`: each service's env files in order (later files winning),
/// under what `environment` sets itself; `env_file` is then removed.
enum ServiceEnvFiles {
    /// `services` with every `env_file` applied; `environment` is the project's variables, which
    /// `KEY` lines without a value and interpolation in the files read.
    static func apply(to services: InputNode, environment: [String: String]) throws(ComposeError) -> InputNode {
        guard let entries = services.entries else { return services }
        var result: [InputNode.Entry] = []
        for var entry in entries {
            if let envFile = entry.value["env_file"] {
                entry.value = try apply(envFile, to: entry.value, path: FieldPath.key("services", entry.key), environment: environment)
            }
            result.append(entry)
        }
        var applied = services
        applied.content = .map(result)
        return applied
    }

    private static func apply(_ envFile: InputNode, to service: InputNode, path: String, environment: [String: String]) throws(ComposeError) -> InputNode {
        var service = service
        var merged = InputNode(.map([]), location: envFile.location)
        for (index, file) in (envFile.items ?? []).enumerated() {
            guard let filePath = file["path"]?.stringValue else { continue }
            let required = file["required"]?.content != .bool(false)
            let fieldPath = FieldPath.index(FieldPath.key(path, "env_file"), index)
            if !required, !ComposeFiles.exists(filePath) { continue }
            for variable in try EnvFile.read(filePath, lookup: environment, at: file.location, field: fieldPath) {
                guard let value = variable.value ?? environment[variable.name] else { continue }
                merged.set(variable.name, .string(value, at: file.location), keyLocation: file.location)
            }
        }
        for entry in service["environment"]?.entries ?? [] {
            merged.set(entry.key, entry.value, keyLocation: entry.keyLocation)
        }
        service.remove("env_file")
        service.set("environment", merged)
        return service
    }
}
