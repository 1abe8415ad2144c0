import BerthCore
import Testing

@Suite struct ResourceNameTests {
    @Test(arguments: ["a", "app", "web-1", "0cache", "a--b", String(repeating: "x", count: 63)])
    func acceptsLowercaseDNSLabels(name: String) throws {
        try ResourceName.validate(name)
    }

    @Test(arguments: [
        ("", "expected a name of lowercase letters, digits and \"-\", found \"\""),
        ("MyApp", "names are lowercase, found \"MyApp\"; use \"myapp\""),
        ("my_app", "name \"my_app\" contains \"_\"; use only a-z, 0-9 and \"-\""),
        ("my.app", "contains \".\""),
        ("café", "contains \"é\""),
        (String(repeating: "x", count: 64), "is 64 characters long; names are at most 63"),
        ("-app", "must start and end with a letter or digit"),
        ("app-", "must start and end with a letter or digit"),
    ])
    func rejectsNamesNamingTheBrokenRule(name: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try ResourceName.validate(name) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }
}
