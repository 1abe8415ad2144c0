import BerthCore
import Testing

@Suite struct CPUQuantityTests {
    @Test(arguments: [
        ("0.5", 500), ("2", 2000), ("1500m", 1500), ("0.25", 250), ("0.001", 1), ("1m", 1), ("2.000", 2000),
        ("0.100", 100), ("16", 16_000),
    ])
    func parsesCoresAndMillicores(text: String, millicores: Int) throws {
        #expect(try CPUQuantity(parsing: text).millicores == millicores)
    }

    @Test(arguments: [(1500, "1.5"), (250, "0.25"), (2000, "2"), (1, "0.001"), (100, "0.1"), (10_050, "10.05")])
    func printsCoresWithoutTrailingZeros(millicores: Int, text: String) {
        #expect(CPUQuantity(millicores: millicores).description == text)
    }

    @Test(arguments: ["0.5", "1500m", "2.000", "0.001", "10.05"])
    func roundTripsThroughItsDescription(text: String) throws {
        let quantity = try CPUQuantity(parsing: text)
        #expect(try CPUQuantity(parsing: quantity.description) == quantity)
    }

    @Test func convertsToDockerNanoCPUs() throws {
        #expect(try CPUQuantity(parsing: "0.5").nanoCPUs == 500_000_000)
        #expect(try CPUQuantity(parsing: "1m").nanoCPUs == 1_000_000)
    }

    @Test(arguments: [
        ("0", "a CPU quantity must be more than 0"),
        ("0m", "a CPU quantity must be more than 0"),
        ("-1", "CPU quantities are positive"),
        ("0.0005", "use at most 3 decimal places; the smallest quantity is 0.001 (1m)"),
        ("1.5m", "millicores are whole numbers"),
        ("2c", "unknown suffix \"c\"; write cores (0.5) or millicores (500m)"),
        ("", "expected a CPU quantity such as 0.5, 2 or 1500m, found \"\""),
        ("half", "found \"half\""),
        ("99999999999999", "the quantity is too large"),
    ])
    func rejectsMalformedQuantities(text: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try CPUQuantity(parsing: text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }
}
