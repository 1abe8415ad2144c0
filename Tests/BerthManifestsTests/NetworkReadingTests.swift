import BerthCore
import Testing

/// How manifests declare networks and the networks containers join, and what they refuse.
@Suite struct NetworkReadingTests {
    static func service(_ fields: String) -> String {
        """
        apiVersion: berth/v1
        kind: Service
        metadata: {name: app, project: default}
        spec:
          image: example/app:1
        \(fields)
        """
    }

    @Test func aContainerJoinsTheProjectsDefaultNetworkUnlessToldOtherwise() throws {
        let implicit = try #require(try read(Self.service("")).first?.containerSpec)
        #expect(implicit.network == .project)
        #expect(implicit.networks == [NetworkAttachment(name: "default")])

        let none = try #require(try read(Self.service("  network: none")).first?.containerSpec)
        #expect(none.network == NetworkMode.none)
        #expect(none.networks.isEmpty)

        // a name in network: is the short form of networks: [name]
        let short = try #require(try read(Self.service("  network: backend")).first?.containerSpec)
        #expect(short.network == .project)
        #expect(short.networks == [NetworkAttachment(name: "backend")])

        let long = try #require(try read(Self.service("  networks: [backend, {name: default, aliases: [api, api.internal], ipv4Address: 10.1.0.7}]")).first?.containerSpec)
        #expect(long.networks == [NetworkAttachment(name: "backend"), NetworkAttachment(name: "default", aliases: ["api", "api.internal"], ipv4Address: "10.1.0.7")])
    }

    @Test(arguments: [
        ("  network: host\n  networks: [backend]", "spec.networks", "network host leaves the project's networks"),
        ("  network: backend\n  networks: [front]", "spec.network", "short form of networks: [backend]"),
        ("  networks: [backend, backend]", "spec.networks", "network backend is listed twice"),
        ("  networks: [Backend]", "spec.networks[0]", "lowercase"),
        ("  networks: [{name: backend, aliases: [\"-api\"]}]", "spec.networks[0].aliases[0]", "expected a DNS name"),
        ("  networks: [{name: backend, ipv4Address: 10.1.0.300}]", "spec.networks[0].ipv4Address", "expected an IPv4 address"),
        ("  networks: [{name: backend, ipv4: 10.1.0.3}]", "spec.networks[0].ipv4", "unknown field"),
        ("  network: my_net", "spec.network", "expected host, none, bridge or the name of a Network of the project"),
    ])
    func refusesBadNetworkFieldsNamingThem(fields: String, path: String, fragment: String) throws {
        let issues = readingIssues(Self.service(fields))
        let issue = try #require(issues.first, "accepted: \(fields)")
        #expect(issue.path == path, "\(issues)")
        #expect(issue.message.contains(fragment), "\(issue.message)")
        #expect(issue.location?.line ?? 0 >= 5, "the issue points into the document: \(String(describing: issue.location))")
    }

    @Test(arguments: [
        ("{driver: bridge, ipam: {subnet: 10.20.0.0/33}}", "spec.ipam.subnet", "prefix length"),
        ("{ipam: {subnet: 10.20.0.0}}", "spec.ipam.subnet", "CIDR"),
        ("{ipam: {subnet: 10.20.0.0/24, gateway: 10.21.0.1}}", "spec.ipam.gateway", "outside subnet"),
        ("{external: true, internal: true}", "spec.internal", "an external network is used as it is"),
        ("{networkName: legacy_net}", "spec.networkName", "needs external: true"),
        ("{external: true, networkName: \"-bad\"}", "spec.networkName", "expected a network name"),
        ("{reclaimPolicy: Keep}", "spec.reclaimPolicy", "Retain"),
    ])
    func refusesBadNetworkSpecsNamingTheField(spec: String, path: String, fragment: String) throws {
        let yaml = "apiVersion: berth/v1\nkind: Network\nmetadata: {name: back}\nspec: \(spec)\n"
        let issue = try #require(readingIssues(yaml).first, "accepted: \(spec)")
        #expect(issue.path == path)
        #expect(issue.message.contains(fragment), "\(issue.message)")
        #expect(issue.location?.line == 4)
    }

    @Test func aNetworkReadsWithItsDefaultsAndItsEngineName() throws {
        let network = try #require(try read("apiVersion: berth/v1\nkind: Network\nmetadata: {name: back}\nspec: {}\n").first)
        guard case .network(let spec) = network.spec else {
            Issue.record("not a network")
            return
        }
        #expect(spec == NetworkSpec(driver: "bridge", internal: false, reclaimPolicy: .delete))
        #expect(spec.engineName(project: "default", name: "back") == "berth-default-back")
        let external = NetworkSpec(external: true, networkName: "shop_default")
        #expect(external.engineName(project: "shop", name: "legacy") == "shop_default")
    }
}
