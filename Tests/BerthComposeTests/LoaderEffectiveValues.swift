import BerthCore
import BerthManifests
import Foundation
import Testing

@testable import BerthCompose

/// The values of one service the differential tests compare: what the container would run with.
///
/// Read from the loader's canonical form and from `docker-compose config` 1.29's output, which
/// differs in form only; normalized away here:
/// - 1.29 writes `$` as `$$` in every string it prints (so the output can be read again).
/// - 1.29 keeps `command`, `entrypoint` and a string healthcheck `test` as written; they are split
///   here with the loader's splitter (shell words; `["CMD-SHELL", s]`), so the split itself is
///   covered by the unit tests, not by this comparison.
/// - 1.29 prints ports as `{published, target}` with numbers, `protocol` only when not tcp and no
///   `mode`; volumes in short syntax `source:target:rw`; both become one text per entry here.
/// - Environment values are compared as text; a variable with no value is `nil` on both sides.
struct LoaderEffectiveService: Equatable, CustomStringConvertible {
    var image: String?
    var command: [String]?
    var entrypoint: [String]?
    var environment: [String: String?] = [:]
    /// `host_ip|published|target|protocol`, sorted.
    var ports: [String] = []
    /// `type|source|target|read_only`, sorted.
    var volumes: [String] = []
    /// The test, then `interval timeout retries start_period disable`.
    var healthcheck: [String]?
    /// Service name → condition.
    var dependsOn: [String: String] = [:]

    var description: String {
        "image \(image ?? "-") command \(command ?? []) entrypoint \(entrypoint ?? []) environment \(environment.sorted { $0.key < $1.key }) ports \(ports) volumes \(volumes) healthcheck \(healthcheck ?? []) depends_on \(dependsOn.sorted { $0.key < $1.key })"
    }

    /// Every service of the loader's canonical document.
    static func fromLoader(_ document: InputNode) -> [String: LoaderEffectiveService] {
        var services: [String: LoaderEffectiveService] = [:]
        for entry in document["services"]?.entries ?? [] {
            services[entry.key] = LoaderEffectiveService(entry.value, unescape: false)
        }
        return services
    }

    /// Every service of `docker-compose config` 1.29's output.
    static func fromReference(_ output: String) throws -> [String: LoaderEffectiveService] {
        let documents = try YAMLDocumentParser.parse(output, file: "docker-compose config")
        var services: [String: LoaderEffectiveService] = [:]
        for entry in documents.first?.root["services"]?.entries ?? [] {
            services[entry.key] = LoaderEffectiveService(entry.value, unescape: true)
        }
        return services
    }

    private init(_ service: InputNode, unescape: Bool) {
        func text(_ node: InputNode?) -> String? {
            guard let value = node?.scalarText else { return nil }
            return unescape ? value.replacingOccurrences(of: "$$", with: "$") : value
        }
        func words(_ node: InputNode?) -> [String]? {
            guard let node else { return nil }
            if let items = node.items { return items.map { text($0) ?? "" } }
            return text(node).flatMap { try? ShellWords.split($0) }
        }
        image = text(service["image"])
        command = words(service["command"])
        entrypoint = words(service["entrypoint"])
        for entry in service["environment"]?.entries ?? [] { environment[entry.key] = text(entry.value) }
        ports = (service["ports"]?.items ?? []).map { port in
            if port.entries == nil, let short = text(port) {
                return (try? ShortSyntax.ports(short, path: "", at: nil))?.first.map(Self.portKey) ?? short
            }
            return Self.portKey(port)
        }.sorted()
        volumes = (service["volumes"]?.items ?? []).map { volume in
            guard volume.entries == nil, let short = text(volume) else {
                return [text(volume["type"]) ?? "volume", text(volume["source"]) ?? "", text(volume["target"]) ?? "", volume["read_only"]?.content == .bool(true) ? "ro" : "rw"].joined(separator: "|")
            }
            let parts = short.split(separator: ":").map(String.init)
            guard parts.count > 1 else { return "volume||\(short)|rw" }
            let mode = parts.count > 2 && parts[2].split(separator: ",").contains("ro") ? "ro" : "rw"
            return [parts[0].hasPrefix("/") ? "bind" : "volume", parts[0], parts[1], mode].joined(separator: "|")
        }.sorted()
        if let check = service["healthcheck"] {
            let test = check["test"].flatMap { test in test.items.map { $0.map { text($0) ?? "" } } ?? text(test).map { ["CMD-SHELL", $0] } } ?? []
            healthcheck = test + ["interval", "timeout", "retries", "start_period", "disable"].map { text(check[$0]) ?? "-" }
        }
        for entry in service["depends_on"]?.entries ?? [] { dependsOn[entry.key] = text(entry.value["condition"]) ?? "service_started" }
    }

    private static func portKey(_ port: InputNode) -> String {
        [port["host_ip"]?.scalarText ?? "", port["published"]?.scalarText ?? "", port["target"]?.scalarText ?? "", port["protocol"]?.scalarText ?? "tcp"].joined(separator: "|")
    }
}
