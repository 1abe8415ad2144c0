import BerthCore
import Testing

private let hex = String(repeating: "0123456789abcdef", count: 4)

@Suite struct ImageReferenceTests {
    /// Input, then the expected registry, repository, tag and digest.
    @Test(
        arguments: [
            ("nginx", nil, "nginx", nil, nil),
            ("nginx:1.27", nil, "nginx", "1.27", nil),
            ("library/nginx:1.27-alpine", nil, "library/nginx", "1.27-alpine", nil),
            ("ghcr.io/org/app:v2", "ghcr.io", "org/app", "v2", nil),
            ("localhost/app", "localhost", "app", nil, nil),
            ("localhost:5000/team/app:dev", "localhost:5000", "team/app", "dev", nil),
            ("registry.example.com:5000/a/b/c", "registry.example.com:5000", "a/b/c", nil, nil),
            ("My-Registry.io/app", "My-Registry.io", "app", nil, nil),
            ("10.0.0.1:5000/app", "10.0.0.1:5000", "app", nil, nil),
            ("[::1]:5000/app:1", "[::1]:5000", "app", "1", nil),
            ("a__b/c-d/e.f/g---h_i:_Tag.1-x", nil, "a__b/c-d/e.f/g---h_i", "_Tag.1-x", nil),
            ("app@sha256:\(hex)", nil, "app", nil, "sha256:\(hex)"),
            ("ghcr.io/org/app:1.0@sha256:\(hex)", "ghcr.io", "org/app", "1.0", "sha256:\(hex)"),
            // As in distribution/reference: without a slash, the part after ':' is a tag.
            ("localhost:5000", nil, "localhost", "5000", nil),
        ] as [(String, String?, String, String?, String?)])
    func parsesReferences(text: String, registry: String?, repository: String, tag: String?, digest: String?) throws {
        let image = try ImageReference(parsing: text)
        #expect(image.registry == registry)
        #expect(image.repository == repository)
        #expect(image.tag == tag)
        #expect(image.digest == digest)
        #expect(image.description == text)
        #expect(try ImageReference(parsing: image.description) == image)
    }

    @Test(
        arguments: [
            ("nginx", "latest"), ("nginx:1.27", "1.27"), ("app@sha256:\(hex)", nil), ("app:v1@sha256:\(hex)", "v1"),
        ] as [(String, String?)])
    func pullsLatestOnlyWithoutTagOrDigest(text: String, effectiveTag: String?) throws {
        #expect(try ImageReference(parsing: text).effectiveTag == effectiveTag)
    }

    @Test(arguments: [
        ("", "the image name is missing"),
        ("ghcr.io/", "the image name is missing"),
        ("Nginx", "image names are lowercase, use \"nginx\""),
        ("ghcr.io/Org/App:v1", "image names are lowercase, use \"org/app\""),
        ("a//b", "the image name has an empty path component"),
        ("app/", "the image name has an empty path component"),
        ("app-", "path component \"app-\" may only hold a-z and 0-9, joined by \".\", \"_\", \"__\" or dashes"),
        ("my_-app", "path component \"my_-app\""),
        ("a___b", "path component \"a___b\""),
        ("my app", "path component \"my app\""),
        ("nginx:", "tag \"\" must start with a letter, digit or \"_\""),
        ("nginx:-rc", "tag \"-rc\" must start"),
        ("nginx:v1+build", "tag \"v1+build\""),
        ("nginx:" + String(repeating: "a", count: 129), "at most 128"),
        ("app@sha256:abc", "digest \"sha256:abc\" must be sha256: followed by 64 lowercase hex digits"),
        ("app@md5:\(hex)", "digest \"md5:"),
        ("app@sha256:\(hex.uppercased())", "must be sha256: followed by 64 lowercase hex digits"),
        ("registry.io:port/app", "registry port \"port\" is not a number"),
        ("-bad.io/app", "registry host \"-bad.io\" is not a valid host name or IP address"),
        ("bad..io/app", "registry host \"bad..io\""),
        ("[::1/app", "registry host"),
        ("[zz]:5000/app", "registry host \"[zz]\""),
        (String(repeating: "a", count: 256), "registry and repository together are at most 255 characters"),
    ])
    func rejectsMalformedReferences(text: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try ImageReference(parsing: text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test func explainsWhatWasExpected() {
        let error = #expect(throws: ValidationError.self) { try ImageReference(parsing: "MyApp:1") }
        #expect(
            error?.description
                == "expected an image reference such as nginx:1.27 or ghcr.io/org/app:v2, found \"MyApp:1\"; "
                + "image names are lowercase, use \"myapp\""
        )
    }
}
