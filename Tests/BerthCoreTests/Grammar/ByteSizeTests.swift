import BerthCore
import Testing

@Suite struct ByteSizeTests {
    @Test(
        arguments: [
            ("0", 0), ("1048576", 1_048_576), ("1k", 1000), ("1K", 1000), ("512Mi", 536_870_912),
            ("1.5Gi", 1_610_612_736), ("2G", 2_000_000_000), ("0.5Ki", 512), ("3T", 3_000_000_000_000),
            ("1Ti", 1_099_511_627_776), ("2Pi", 2_251_799_813_685_248), ("1P", 1_000_000_000_000_000), ("1.0", 1),
        ] as [(String, Int64)])
    func parsesBytesAndSuffixes(text: String, bytes: Int64) throws {
        #expect(try ByteSize(parsing: text).bytes == bytes)
    }

    @Test(
        arguments: [
            (0, "0"), (1024, "1Ki"), (1000, "1k"), (536_870_912, "512Mi"), (1_610_612_736, "1536Mi"),
            (2_048_000, "2000Ki"), (1_024_000, "1000Ki"), (1_500_000, "1500k"), (2_000_000_000, "2G"),
            (1_048_576_000, "1000Mi"), (1001, "1001"), (1 << 50, "1Pi"),
        ] as [(Int64, String)])
    func printsTheLargestUnitThatDividesExactly(bytes: Int64, text: String) {
        #expect(ByteSize(bytes: bytes).description == text)
    }

    @Test(arguments: ["0", "1001", "1.5Gi", "1500k", "2048000", "7M", "1Ti", "8191Pi"])
    func roundTripsThroughItsDescription(text: String) throws {
        let size = try ByteSize(parsing: text)
        #expect(try ByteSize(parsing: size.description) == size)
    }

    @Test(arguments: [
        ("", "found \"\""),
        ("-1Gi", "sizes cannot be negative"),
        ("1.5", "1.5 is not a whole number of bytes"),
        ("0.0001k", "is not a whole number of bytes"),
        ("1MB", "unknown suffix \"MB\"; use k, M, G, T, P (powers of 1000) or Ki, Mi, Gi, Ti, Pi (powers of 1024)"),
        ("1gi", "unknown suffix \"gi\""),
        ("1 Gi", "unknown suffix \" Gi\""),
        ("Gi", "expected a size such as 512Mi, 2Gi, 100M or 1048576 (bytes), found \"Gi\""),
        ("8192Pi", "the largest size is 8Ei"),
        ("99999999999999999999", "the largest size is 8Ei"),
    ])
    func rejectsMalformedSizes(text: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try ByteSize(parsing: text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test func ordersBySize() throws {
        #expect(try ByteSize(parsing: "1000Mi") < ByteSize(parsing: "1Gi"))
    }
}
