import BerthCore
import Testing

@Suite struct MountTests {
    @Test(
        arguments: [
            ("static:/static", .volume("static"), "/static", false, "static:/static"),
            ("/srv/config:/config:ro", .hostPath("/srv/config"), "/config", true, "/srv/config:/config:ro"),
            ("data:/var/lib/data:rw", .volume("data"), "/var/lib/data", false, "data:/var/lib/data"),
            ("/:/host:ro", .hostPath("/"), "/host", true, "/:/host:ro"),
        ] as [(String, Mount.Source, String, Bool, String)])
    func parsesVolumesAndHostPaths(
        text: String, source: Mount.Source, target: String, readOnly: Bool, canonical: String
    )
        throws
    {
        let mount = try Mount(parsing: text)
        #expect(mount.source == source)
        #expect(mount.target == target)
        #expect(mount.readOnly == readOnly)
        #expect(mount.description == canonical)
        #expect(try Mount(parsing: mount.description) == mount)
    }

    @Test(arguments: [
        ("./x:/x", "use an absolute host path such as /srv/app instead of \"./x\""),
        ("../x:/x", "instead of \"../x\""),
        ("x/y:/y", "instead of \"x/y\""),
        ("~/x:/x", "instead of \"~/x\""),
        ("data", "write source:target, optionally followed by :ro or :rw"),
        ("a:/b:ro:x", "write source:target"),
        ("data:relative", "the target \"relative\" must be an absolute path in the container, such as /data"),
        ("data:/d:rx", "unknown mode \"rx\"; use ro or rw"),
        ("data::/d", "a part is empty"),
        (":/d", "a part is empty"),
        ("Data:/d", "volume names are lowercase, found \"Data\"; use \"data\""),
        ("my_data:/d", "volume name \"my_data\" contains \"_\""),
    ])
    func rejectsMalformedMounts(text: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try Mount(parsing: text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test func explainsWhatWasExpected() {
        let error = #expect(throws: ValidationError.self) { try Mount(parsing: "./config:/config") }
        #expect(
            error?.description
                == "expected a mount such as data:/var/lib/data or /srv/config:/config:ro, found \"./config:/config\"; "
                + "use an absolute host path such as /srv/app instead of \"./config\""
        )
    }
}
