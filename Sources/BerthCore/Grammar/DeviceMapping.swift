/// A host device made available in the container: `HOST[:CONTAINER][:PERMISSIONS]`, as
/// `docker run --device` and compose's `devices` take it. The container path defaults to the host
/// path, the cgroup permissions to `rwm` (read, write, mknod). Shown in full: `/dev/fuse:/dev/fuse:rwm`.
public struct DeviceMapping: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The device (or a folder of devices) on the host.
    public let hostPath: String
    public let containerPath: String
    /// Some of `r`, `w`, `m`, in that order.
    public let permissions: String

    public init(parsing text: String) throws(ValidationError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard (1...3).contains(parts.count), !parts.contains(where: \.isEmpty) else {
            throw Self.invalid(text, "write HOST, HOST:CONTAINER or HOST:CONTAINER:PERMISSIONS")
        }
        // Like the engine: a second part that is not a path is the permissions (`/dev/fuse:rw`).
        let permissionsGiven = parts.count == 3 ? parts[2] : parts.count == 2 && !parts[1].hasPrefix("/") ? parts[1] : nil
        let container = parts.count == 3 || (parts.count == 2 && permissionsGiven == nil) ? parts[1] : parts[0]
        guard parts[0].hasPrefix("/") else { throw Self.invalid(text, "the host path \(parts[0].quoted) must be absolute, such as /dev/fuse") }
        guard container.hasPrefix("/") else { throw Self.invalid(text, "the container path \(container.quoted) must be absolute") }
        let permissions = permissionsGiven ?? "rwm"
        guard permissions.allSatisfy({ "rwm".contains($0) }), Set(permissions).count == permissions.count else {
            throw Self.invalid(text, "permissions are some of r (read), w (write) and m (mknod), each once; found \(permissions.quoted)")
        }
        hostPath = parts[0]
        containerPath = container
        self.permissions = String("rwm".filter { permissions.contains($0) })
    }

    private static func invalid(_ text: String, _ advice: String) -> ValidationError {
        ValidationError("expected a device such as /dev/fuse or /dev/snd:/dev/snd:rw, found \(text.quoted); \(advice)")
    }

    public var description: String { "\(hostPath):\(containerPath):\(permissions)" }

    public init(from decoder: any Decoder) throws {
        self = try decoder.decodeGrammarValue(Self.init(parsing:))
    }

    public func encode(to encoder: any Encoder) throws {
        try encoder.encodeGrammarValue(self)
    }
}
