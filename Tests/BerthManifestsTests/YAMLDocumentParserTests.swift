import BerthCore
import BerthManifests
import Testing

@Suite("YAML documents")
struct YAMLDocumentParserTests {
    private func parse(_ text: String) throws -> [ManifestDocument] {
        try YAMLDocumentParser.parse(text, file: "m.yaml")
    }

    @Test func readsEveryDocumentOfAStream() throws {
        // given
        let text = "kind: A\n---\nkind: B\n---\n- x\n"
        // when
        let documents = try parse(text)
        // then
        #expect(documents.map(\.index) == [0, 1, 2])
        #expect(documents.map(\.file) == ["m.yaml", "m.yaml", "m.yaml"])
        #expect(documents[1].root["kind"]?.content == .string("B"))
        #expect(documents[2].root.content == .list([InputNode(.string("x"), location: at(5, 3))]))
    }

    @Test func skipsEmptyDocumentsButKeepsTheirPlaceInTheIndex() throws {
        // given
        let text = "# only a comment\n---\n---\nkind: A\n---\n...\n---\nkind: B\n"
        // when
        let documents = try parse(text)
        // then
        #expect(documents.map(\.index) == [1, 3])
        #expect(try parse("").isEmpty)
        #expect(try parse("# nothing here\n").isEmpty)
    }

    @Test func recordsPositionsOfNestedKeysAndValues() throws {
        // given
        let text = """
            spec:
              containers:
                - name: web
                  image: "nginx"
            """
        // when
        let root = try #require(try parse(text).first).root
        // then
        let spec = try #require(root.entry("spec"))
        #expect(root.location == at(1, 1))
        #expect(spec.keyLocation == at(1, 1))
        let containers = try #require(spec.value.entry("containers"))
        #expect(containers.keyLocation == at(2, 3))
        #expect(containers.value.location == at(3, 5))
        guard case .list(let items) = containers.value.content else {
            Issue.record("containers is not a list")
            return
        }
        #expect(items[0].location == at(3, 7))
        #expect(items[0].entry("name")?.keyLocation == at(3, 7))
        #expect(items[0]["name"]?.location == at(3, 13))
        #expect(items[0].entry("image")?.keyLocation == at(4, 7))
        #expect(items[0]["image"]?.location == at(4, 14))
    }

    @Test(arguments: [
        ("~", InputNode.Content.null), ("null", .null), ("Null", .null), ("NULL", .null), ("", .null),
        ("nULL", .string("nULL")),
        ("true", .bool(true)), ("True", .bool(true)), ("TRUE", .bool(true)),
        ("false", .bool(false)), ("False", .bool(false)), ("FALSE", .bool(false)),
        ("yes", .string("yes")), ("off", .string("off")), ("tRUE", .string("tRUE")),
        ("42", .number("42")), ("-7", .number("-7")), ("+3", .number("+3")), ("007", .number("007")),
        ("0x1F", .number("0x1F")), ("0o17", .number("0o17")), ("0o8", .string("0o8")), ("0x", .string("0x")),
        ("0b101", .string("0b101")), ("1_000", .string("1_000")),
        ("1.5", .number("1.5")), ("-2e3", .number("-2e3")), ("1E+6", .number("1E+6")), (".5", .number(".5")),
        ("1.", .number("1.")), ("1e", .string("1e")), (".", .string(".")), ("1.2.3", .string("1.2.3")),
        (".inf", .number(".inf")), ("-.Inf", .number("-.Inf")), ("+.INF", .number("+.INF")),
        (".nan", .number(".nan")), (".NaN", .number(".NaN")), ("-.nan", .string("-.nan")),
        ("12:30", .string("12:30")), ("v1.2", .string("v1.2")), ("nginx:1.27", .string("nginx:1.27")),
    ])
    func typesPlainScalarsWithTheCoreSchema(text: String, expected: InputNode.Content) throws {
        // when
        let root = try #require(try parse("value: \(text)\n").first).root
        // then
        #expect(root["value"]?.content == expected)
    }

    @Test func keepsQuotedAndBlockScalarsAsStrings() throws {
        // given
        let text = "a: \"42\"\nb: 'true'\nc: |\n  null\nd: >\n  1.5\ne: \"\"\n"
        // when
        let root = try #require(try parse(text).first).root
        // then
        #expect(root["a"]?.content == .string("42"))
        #expect(root["b"]?.content == .string("true"))
        #expect(root["c"]?.content == .string("null\n"))
        #expect(root["d"]?.content == .string("1.5\n"))
        #expect(root["e"]?.content == .string(""))
    }

    @Test func honoursExplicitCoreTags() throws {
        // given
        let text = "a: !!str 42\nb: !!int \"7\"\nc: !!float 3\nd: !!bool \"true\"\ne: !!null ''\nf: !!map {x: 1}\ng: !!seq [1]\nh: ! 12\n"
        // when
        let root = try #require(try parse(text).first).root
        // then
        #expect(root["a"]?.content == .string("42"))
        #expect(root["b"]?.content == .number("7"))
        #expect(root["c"]?.content == .number("3"))
        #expect(root["d"]?.content == .bool(true))
        #expect(root["e"]?.content == .null)
        #expect(root["f"]?.keys == ["x"])
        #expect(root["g"]?.kindDescription == "a list")
        #expect(root["h"]?.content == .string("12"))
    }

    @Test(arguments: [
        ("a: !secret x\n", "!secret"),
        ("a: !!binary aGk=\n", "!!binary"),
        ("a: !!int abc\n", "!!int"),
        ("a: !!bool yes\n", "!!bool"),
        ("a: !!map [1]\n", "!!map"),
        ("a: !<tag:example.com,2024:x> {}\n", "tag:example.com,2024:x"),
    ])
    func rejectsTagsItCannotHonour(text: String, tag: String) {
        // when
        let found = yamlIssues(of: text)
        // then
        #expect(found.count == 1)
        #expect(found.first?.location == at(1, 4))
        #expect(found.first?.message.contains("`\(tag)`") == true)
    }

    @Test(arguments: ["? [a, b]\n: c\n", "{a: 1}: x\n", "? - a\n: b\n"])
    func rejectsKeysThatAreNotSingleValues(text: String) {
        // when
        let found = yamlIssues(of: text)
        // then
        #expect(found.count == 1)
        #expect(found.first?.message.contains("a mapping key must be a single value") == true)
    }

    @Test func reportsDuplicateKeysWithBothLinesInEveryDocument() {
        // given
        let text = "name: a\nimage: b\nname: c\n---\nspec:\n  port: 1\n  port: 2\n"
        // when
        let found = yamlIssues(of: text)
        // then
        #expect(found.map(\.location) == [at(3, 1), at(7, 3)])
        #expect(found[0].message.contains("`name`") && found[0].message.contains("line 1") && found[0].message.contains("line 3"))
        #expect(found[1].message.contains("`port`") && found[1].message.contains("line 6") && found[1].message.contains("line 7"))
    }

    @Test func mergesKeysWhereWrittenKeysWinAndMergedKeysKeepTheirLocations() throws {
        // given
        let text = """
            base: &base
              image: nginx
              replicas: 1
            extra: &extra
              replicas: 5
              port: 80
            web:
              <<: [*base, *extra]
              replicas: 3
            db:
              <<: *extra
            """
        // when
        let root = try #require(try parse(text).first).root
        // then
        let web = try #require(root["web"])
        #expect(web.keys == ["image", "port", "replicas"])
        #expect(web.entry("image")?.keyLocation == at(2, 3))
        #expect(web["image"]?.location == at(2, 10))
        #expect(web["replicas"]?.content == .number("3"))
        #expect(web["port"]?.content == .number("80"))
        #expect(root["db"]?.keys == ["replicas", "port"])
    }

    @Test(arguments: ["a: &a 1\nb:\n  <<: *a\n", "a: &a 1\nb:\n  <<: [*a]\n", "b:\n  <<:\n"])
    func rejectsMergeKeysThatNameNoMapping(text: String) {
        // when
        let found = yamlIssues(of: text)
        // then
        #expect(found.count == 1)
        #expect(found.first?.message.contains("merge key `<<`") == true)
    }

    @Test func quotedMergeKeyIsAnOrdinaryKey() throws {
        // when
        let root = try #require(try parse("\"<<\": 1\n").first).root
        // then
        #expect(root["<<"]?.content == .number("1"))
    }

    @Test func aliasRepeatsTheAnchoredValue() throws {
        // when
        let root = try #require(try parse("a: &x {k: [1, 2]}\nb: *x\nc: {&key name: v}\nd: {*key : w}\n").first).root
        // then
        #expect(root["b"] == root["a"])
        #expect(root["d"]?.keys == ["name"])
        #expect(root["d"]?.entry("name")?.keyLocation == at(4, 5))
    }

    @Test(arguments: [
        ("a: *nowhere\n", "refers to no anchor"),
        ("a: &loop [1, *loop]\n", "would contain itself"),
        ("a: &x 1\n---\nb: *x\n", "refers to no anchor"),
    ])
    func rejectsAliasesWithoutAnEarlierAnchor(text: String, expected: String) {
        // when
        let found = yamlIssues(of: text)
        // then
        #expect(found.count == 1)
        #expect(found.first?.message.contains(expected) == true)
    }

    @Test func explainsTabIndentation() {
        // when
        let found = yamlIssues(of: "spec:\n\timage: nginx\n")
        // then
        #expect(found.count == 1)
        #expect(found.first?.location?.line == 2)
        #expect(found.first?.message.contains("YAML indentation uses spaces, not tabs") == true)
    }

    @Test func reportsTheLineAndColumnOfTheFirstInvalidUTF8Byte() {
        // given
        let bytes = Array("ключ: x\nb: é".utf8) + [0xFF] + Array("\n".utf8)
        // when
        let found = yamlIssues(of: bytes)
        // then
        #expect(found.count == 1)
        #expect(found.first?.location == at(2, 5))
        #expect(found.first?.message.contains("UTF-8") == true)
    }

    @Test func reportsControlCharactersAtTheirPosition() {
        // when
        let found = yamlIssues(of: "a: ok\nb: x\u{1}y\n")
        // then
        #expect(found.count == 1)
        #expect(found.first?.location == at(2, 5))
        #expect(found.first?.message.contains("U+0001") == true)
    }

    @Test func reportsASyntaxErrorInTheThirdDocumentAfterProblemsInEarlierOnes() {
        // given
        let text = "kind: A\nkind: B\n---\nkind: C\n---\nkind: D\n  image: [nginx\n"
        // when
        let found = yamlIssues(of: text)
        // then
        #expect(found.count == 2)
        #expect(found.first?.location == at(2, 1))
        #expect(found.last?.location?.line == 7)
        #expect(found.last?.message.hasPrefix("YAML syntax error:") == true)
    }
}

fileprivate extension InputNode {
    /// The value of `key` in a mapping node.
    subscript(key: String) -> InputNode? {
        guard case .map(let entries) = content else { return nil }
        return entries.first { $0.key == key }?.value
    }

    /// The entry of `key` in a mapping node.
    func entry(_ key: String) -> Entry? {
        guard case .map(let entries) = content else { return nil }
        return entries.first { $0.key == key }
    }

    var keys: [String] {
        guard case .map(let entries) = content else { return [] }
        return entries.map(\.key)
    }
}

fileprivate func at(_ line: Int, _ column: Int) -> BerthCore.SourceLocation {
    BerthCore.SourceLocation(file: "m.yaml", line: line, column: column)
}
