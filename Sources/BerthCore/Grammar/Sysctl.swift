/// Kernel parameters a container may set for itself (`sysctls`): only those the kernel keeps per
/// namespace, as the engine checks them (moby `opts.ValidateSysctl`): `net.*` (the container's own
/// network namespace: not with `network: host`), `fs.mqueue.*` and the IPC ones `kernel.msg*`,
/// `kernel.sem`, `kernel.shm*`.
public enum SysctlName {
    static let ipcNames = [
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
        "kernel.shmmni", "kernel.shm_rmid_forced",
    ]
    static let namespacedPrefixes = ["net.", "fs.mqueue."]

    static func validate(_ name: String) throws(ValidationError) {
        let wellFormed = name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { part in
            !part.isEmpty && part.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" || $0 == "-" }
        }
        guard wellFormed, ipcNames.contains(name) || namespacedPrefixes.contains(where: { name.hasPrefix($0) }) else {
            throw ValidationError(
                "expected a namespaced kernel parameter such as net.core.somaxconn: net.*, fs.mqueue.*, kernel.msgmax, kernel.msgmnb, kernel.msgmni, kernel.sem or kernel.shm*; found \(name.quoted)")
        }
    }

    /// A policy entry: a parameter name, or a prefix ending in `.*` (`net.ipv4.*`).
    static func validatedPattern(_ pattern: String) throws(ValidationError) -> String {
        let name = pattern.hasSuffix(".*") ? String(pattern.dropLast(2)) : pattern
        let wellFormed =
            !name.isEmpty
            && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { part in
                !part.isEmpty && part.allSatisfy { $0.isASCIILetter || $0.isASCIIDigit || $0 == "_" || $0 == "-" }
            }
        guard wellFormed else {
            throw ValidationError("expected a kernel parameter such as net.core.somaxconn, or a prefix such as net.ipv4.*, found \(pattern.quoted)")
        }
        return pattern
    }

    /// Whether `name` is `pattern`, or lies under a `prefix.*` pattern.
    public static func matches(_ name: String, _ pattern: String) -> Bool {
        pattern.hasSuffix(".*") ? name.hasPrefix(pattern.dropLast()) : name == pattern
    }
}
