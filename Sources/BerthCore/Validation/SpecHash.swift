import Foundation

/// Stable hashes of normalized specs, stored in the `berth.spec-hash` label: an object whose label
/// differs from the desired spec's hash has drifted and is recreated (like compose's config-hash).
///
/// The hash is FNV-1a (64 bit) over canonical JSON (sorted keys, defaults filled in), so key order
/// and omitted defaults in the manifest do not matter. It guards against drift, not attackers.
public enum SpecHash {
    /// The hash of what a service's containers are created from; fields that never need a recreate
    /// (replicas, dependsOn, restart policy, pull policy, update order, placement) are left out.
    public static func of(_ spec: ServiceSpec) -> String {
        hash(canonicalJSON(spec.recreateRelevant))
    }

    /// The hash of a volume's driver, options and labels; the reclaim policy is Berth's own
    /// bookkeeping, not a property of the Docker volume, so changing it never asks for a recreate.
    public static func of(_ spec: VolumeSpec) -> String {
        var spec = spec
        spec.reclaimPolicy = .retain
        return hash(canonicalJSON(spec))
    }

    /// The hash of what a network is created from; the reclaim policy is Berth's bookkeeping.
    public static func of(_ spec: NetworkSpec) -> String {
        var spec = spec
        spec.reclaimPolicy = .delete
        return hash(canonicalJSON(spec))
    }

    /// The hash of a job's spec: a manifest Job whose spec changes is a new job.
    public static func of(_ spec: JobSpec) -> String {
        hash(canonicalJSON(spec))
    }

    /// The recreate-relevant fields that differ between two service specs, as dotted paths
    /// (`image`, `env.FOO`, `healthcheck.interval`); lists count as one field.
    public static func changedFields(from old: ServiceSpec, to new: ServiceSpec) -> [String] {
        let before = flatten(canonicalJSON(old.recreateRelevant))
        let after = flatten(canonicalJSON(new.recreateRelevant))
        return Set(before.keys).union(after.keys).filter { before[$0] != after[$0] }.sorted()
    }

    /// The canonical JSON of what a container is created from, for the `berth.spec` label.
    public static func canonicalText(_ spec: ServiceSpec) -> String {
        String(decoding: canonicalJSON(spec.recreateRelevant), as: UTF8.self)
    }

    static func canonicalJSON(_ value: some Encodable) -> [UInt8] {
        do {
            return try CanonicalJSON.encode(value)
        } catch {
            preconditionFailure("spec types always encode: \(error)")
        }
    }

    static func hash(_ data: [UInt8]) -> String {
        var digest: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            digest ^= UInt64(byte)
            digest &*= 0x0000_0100_0000_01b3
        }
        let hex = String(digest, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Maps nested objects to dotted paths; arrays and scalars are compared as canonical text.
    private static func flatten(_ data: [UInt8]) -> [String: String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(data)) else { return [:] }
        var fields: [String: String] = [:]
        func walk(_ value: Any, _ path: String) {
            if let dictionary = value as? [String: Any] {
                for (key, child) in dictionary { walk(child, path.isEmpty ? key : "\(path).\(key)") }
            } else if let text = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) {
                fields[path] = String(decoding: text, as: UTF8.self)
            }
        }
        walk(object, "")
        return fields
    }
}

extension ServiceSpec {
    /// The spec with every field that changes without a recreate reset to a fixed value.
    var recreateRelevant: ServiceSpec {
        var spec = self
        spec.replicas = 1
        spec.dependsOn = []
        spec.restart = .always
        spec.container.pullPolicy = .ifNotPresent
        spec.updateOrder = nil
        spec.placement = nil
        return spec
    }
}
