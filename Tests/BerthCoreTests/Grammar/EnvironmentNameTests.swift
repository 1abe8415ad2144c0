import BerthCore
import Testing

@Suite struct EnvironmentNameTests {
    @Test(arguments: ["PATH", "_private", "DATABASE_URL", "a1", "x"])
    func acceptsPortableShellNames(name: String) throws {
        try EnvironmentName.validate(name)
    }

    @Test(arguments: [
        ("", "expected an environment variable name such as DATABASE_URL, found \"\""),
        ("1PASSWORD", "environment variable names cannot start with a digit, found \"1PASSWORD\""),
        ("API-KEY", "environment variable name \"API-KEY\" contains \"-\"; use only letters, digits and \"_\""),
        ("A B", "contains \" \""),
        ("ÉTÉ", "contains \"É\""),
    ])
    func rejectsOtherNames(name: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try EnvironmentName.validate(name) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }
}
