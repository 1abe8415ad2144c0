import Foundation
import Testing
@testable import BerthCore

/// What `SpecHash` hashed before `CanonicalJSON`: every hash must keep its value, or an upgrade
/// would recreate every container.
private func foundationJSON(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

private func canonicalJSON(_ value: some Encodable) throws -> String {
    String(decoding: try CanonicalJSON.encode(value), as: UTF8.self)
}

/// Text with everything a JSON writer must treat with care: quotes, backslashes, slashes, every
/// control character, DEL, non-ASCII, a combining mark, a character outside the BMP, U+2028.
private let awkwardText = "q\"b\\s/" + String((0..<32).map { Character(Unicode.Scalar(UInt8($0))) }) + "\u{7f}é e\u{301} 𝄞 \u{2028}<&>"

/// A resource of every kind, each with most of its fields set.
private let everyKind = [
    #"{"kind": "Project", "metadata": {"name": "shop"}, "spec": {"maxConcurrentJobs": 3, "exclusiveJobs": true, "logArchive": {"bucket": "shop-logs"}, "policy": {"appliesTo": "all", "hostPaths": ["/srv/shop"], "hostNetwork": true, "webhookHosts": ["app.example.com:443"]}}}"#,
    #"{"kind": "Volume", "metadata": {"name": "data", "project": "shop", "labels": {"tier": "db"}}, "spec": {"driver": "local", "options": {"type": "tmpfs", "device": "tmpfs", "o": "size=64m"}, "labels": {"b": "2", "a": "1"}, "reclaimPolicy": "Delete"}}"#,
    #"{"kind": "Network", "metadata": {"name": "back", "project": "shop"}, "spec": {"driver": "bridge", "internal": true, "enableIPv6": true, "ipam": {"subnet": "10.20.0.0/24", "gateway": "10.20.0.1"}, "labels": {"z": "1", "Z": "2"}}}"#,
    #"{"kind": "Service", "metadata": {"name": "web", "project": "shop"}, "spec": {"image": "example/app:1", "command": ["run", "--fast"], "entrypoint": ["/init"], "replicas": 3, "env": {"B": "2", "a": "1", "KEY": {"fromFile": "/run/key"}}, "volumes": ["data:/data", "/srv/shop/conf:/conf:ro"], "ports": ["127.0.0.1:8080:80", "9000:9000/udp"], "networks": [{"name": "back", "aliases": ["api", "www"], "ipv4Address": "10.20.0.9"}], "healthcheck": {"command": ["true"], "interval": "5s", "timeout": "2s", "retries": 5, "startPeriod": "1s"}, "resources": {"memory": "1Gi", "cpus": 0.5}, "dependsOn": ["db"], "restart": "on-failure", "user": "1000:1000", "workingDir": "/app", "stopSignal": "SIGINT", "stopGracePeriod": "45s", "init": true, "labels": {"team": "web"}, "updateOrder": "start-first", \#(everyContainerOption)}}"#,
    #"{"kind": "Job", "metadata": {"name": "export", "project": "shop"}, "spec": {"image": "example/worker:3", "command": ["export"], "env": {"MODE": "full"}, "activeDeadline": "10m", "backoffLimit": 2, "nonRetryableExitCodes": [3, 4], "priority": 7, "feedbackPath": "/io/feedback.json", "network": "none", "labels": {"kind": "export"}, "concurrencyKey": "exports", "maxConcurrentPerKey": 1, "ttlAfterFinished": "1h"}}"#,
    #"{"kind": "CronJob", "metadata": {"name": "nightly", "project": "shop"}, "spec": {"schedule": "0 3 * * *", "timeZone": "Europe/Zurich", "concurrencyPolicy": "Forbid", "startingDeadline": "1h", "successfulJobsHistoryLimit": 2, "jobTemplate": {"image": "example/worker:3", "command": ["nightly"], "network": "none"}}}"#,
    #"{"kind": "Bucket", "metadata": {"name": "shop-logs", "project": "shop"}, "spec": {"versioning": true, "reclaimPolicy": "Retain"}}"#,
]

/// Every container option, as a service or job spec's JSON members.
private let everyContainerOption = #"""
    "logging": {"driver": "json-file", "options": {"max-size": "10m", "max-file": 3}},
    "ulimits": {"nofile": {"soft": 1024, "hard": 2048}, "nproc": 512}, "capAdd": ["NET_ADMIN"], "capDrop": ["ALL"],
    "extraHosts": ["db.local:127.0.0.1"], "tmpfs": ["/tmp:size=64m,mode=1777"], "shmSize": "256Mi", "tty": true, "stdinOpen": true,
    "sysctls": {"net.core.somaxconn": 1024}, "readOnlyRootFilesystem": true, "pidsLimit": 100, "hostname": "web",
    "dns": ["1.1.1.1"], "dnsSearch": ["example.org"], "devices": ["/dev/fuse"], "securityOpt": ["no-new-privileges"]
    """#

/// A value that uses every path of the `Encoder` protocol specs do not: floating point numbers,
/// every integer width, explicit nulls, nested and super encoders, enums with payloads.
private struct EveryEncoderPath: Encodable {
    enum Payload: Encodable {
        case none
        case pair(Int, label: String)
    }

    enum CodingKeys: String, CodingKey {
        case doubles, floats, integers, unsigned, null, nested, list, payloads, parent, text
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode([1.0, 0.1, 1e20, 1.5e-7, -0.0, 123_456_789.123, 5e-324, 100, 1e16, 1e15], forKey: .doubles)
        try container.encode([Float(1), 0.1, 3e10], forKey: .floats)
        var integers = container.nestedUnkeyedContainer(forKey: .integers)
        try integers.encode(Int8.min)
        try integers.encode(Int16.min)
        try integers.encode(Int32.min)
        try integers.encode(Int64.min)
        try integers.encode(Int.max)
        var unsigned = container.nestedContainer(keyedBy: CodingKeys.self, forKey: .unsigned)
        try unsigned.encode(UInt8.max, forKey: .doubles)
        try unsigned.encode(UInt16.max, forKey: .floats)
        try unsigned.encode(UInt32.max, forKey: .integers)
        try unsigned.encode(UInt64.max, forKey: .unsigned)
        try unsigned.encode(UInt.max, forKey: .null)
        try container.encodeNil(forKey: .null)
        var list = container.nestedUnkeyedContainer(forKey: .list)
        try list.encodeNil()
        try list.encode(true)
        try list.encode(Double(2.5))
        try list.encode(Float(0.25))
        var inner = list.nestedContainer(keyedBy: CodingKeys.self)
        try inner.encode(false, forKey: .null)
        var innerList = list.nestedUnkeyedContainer()
        try innerList.encode(awkwardText)
        try Optional<Int>.none.encode(to: list.superEncoder())
        try container.encode([Payload.none, .pair(1, label: "x")], forKey: .payloads)
        try "parent".encode(to: container.superEncoder())
        try [1, 2].encode(to: container.superEncoder(forKey: .parent))
        try container.encode([awkwardText: awkwardText, "": "", "ss": "ß", "ß": "ss", "A": "a"], forKey: .text)
    }
}

@Suite("Canonical JSON")
struct CanonicalJSONTests {
    @Test(arguments: everyKind)
    func everyKindEncodesAsJSONEncoderDid(_ document: String) throws {
        // given
        let resource = try Resource(json: #"{"apiVersion": "berth/v1", \#(document.dropFirst())"#)

        // then
        #expect(try canonicalJSON(resource) == foundationJSON(resource))
        if let container = resource.containerSpec {
            #expect(try canonicalJSON(container) == foundationJSON(container))
        }
    }

    @Test func awkwardTextInEveryPlaceOfASpecEncodesAsJSONEncoderDid() throws {
        // given
        var spec = try ServiceSpec(json: #"{"image": "example/app:1", "network": "none", \#(everyContainerOption)}"#)
        spec.container.command = [awkwardText, "", "/usr/bin/env"]
        spec.container.env = [awkwardText: .literal(awkwardText), "PATH": .literal("/bin:/usr/bin")]
        spec.container.labels = [awkwardText: awkwardText, "a.b/c": "d"]

        // then
        #expect(try canonicalJSON(spec) == foundationJSON(spec))
        #expect(SpecHash.of(spec) == SpecHash.hash(Array(try foundationJSON(spec.recreateRelevant).utf8)))
    }

    @Test func keysSortAsUTF8Bytes() throws {
        // given: keys whose orders differ by code unit, case, number and locale rules
        let keys = ["b", "B", "a10", "a9", "é", "z", "_x", "Z", "a-b", "a.b", "ß", "ss", "", "Ab", "aB", "a_b", "𝄞", "\u{ffff}", "e\u{300}"]
        let map = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, $0) })

        // then
        #expect(try canonicalJSON(map) == foundationJSON(map))
    }

    @Test func everyEncoderPathWritesWhatJSONEncoderWrites() throws {
        #expect(try canonicalJSON(EveryEncoderPath()) == foundationJSON(EveryEncoderPath()))
    }

    @Test func randomTextEncodesAsJSONEncoderDid() throws {
        // given: a fixed seed, so a failure repeats
        var generator = SeededGenerator(seed: 15)
        let alphabet = Array(awkwardText.unicodeScalars) + Array("abcXYZ019-_.:".unicodeScalars)
        for _ in 0..<200 {
            var map: [String: [String]] = [:]
            for _ in 0..<Int.random(in: 0..<8, using: &generator) {
                let key = String(String.UnicodeScalarView((0..<Int.random(in: 0..<6, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }))
                map[key] = (0..<3).map { _ in String(String.UnicodeScalarView((0..<5).map { _ in alphabet.randomElement(using: &generator)! })) }
            }

            // then
            #expect(try canonicalJSON(map) == foundationJSON(map))
        }
    }
}
