import BerthCore
import Testing

/// How manifests declare volumes, external ones (a compose project's, adopted) among them.
@Suite struct VolumeReadingTests {
    static func volume(_ spec: String) -> String {
        "apiVersion: berth/v1\nkind: Volume\nmetadata: {name: data, project: shop}\nspec: \(spec)\n"
    }

    @Test func anExternalVolumeIsUsedByItsEngineName() throws {
        let resource = try #require(try read(Self.volume("{external: true, volumeName: shop_data}")).first)
        guard case .volume(let spec) = resource.spec else {
            Issue.record("not a volume")
            return
        }
        #expect(spec == VolumeSpec(external: true, volumeName: "shop_data"))
        #expect(spec.engineName(project: "shop", name: "data") == "shop_data")
        #expect(VolumeSpec(external: true).engineName(project: "shop", name: "data") == "data")
        #expect(VolumeSpec().engineName(project: "shop", name: "data") == "berth-shop-data")
    }

    @Test func aVolumeWithoutTheNewFieldsHashesAsBefore() throws {
        // The canonical form of a volume that is not external has no `external` or `volumeName`
        // key, so no existing volume is reported as changed after the upgrade.
        let before = SpecHash.of(VolumeSpec(driver: "local", options: ["type": "tmpfs"], labels: ["a": "b"]))
        #expect(before == SpecHash.of(VolumeSpec(driver: "local", options: ["type": "tmpfs"], labels: ["a": "b"], external: false, volumeName: nil)))
        #expect(before != SpecHash.of(VolumeSpec(driver: "local", options: ["type": "tmpfs"], labels: ["a": "b"], external: true)))
    }

    @Test(arguments: [
        ("{external: true, driver: local}", "spec.driver", "an external volume is used as it is"),
        ("{external: true, reclaimPolicy: Delete}", "spec.reclaimPolicy", "an external volume is used as it is"),
        ("{volumeName: shop_data}", "spec.volumeName", "needs external: true"),
        ("{external: true, volumeName: \"-bad\"}", "spec.volumeName", "expected a volume name"),
    ])
    func refusesBadVolumeSpecsNamingTheField(spec: String, path: String, fragment: String) throws {
        let issue = try #require(readingIssues(Self.volume(spec)).first, "accepted: \(spec)")
        #expect(issue.path == path)
        #expect(issue.message.contains(fragment), "\(issue.message)")
        #expect(issue.location?.line == 4)
    }
}
