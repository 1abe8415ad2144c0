import BerthCore
import Foundation
import Testing

private func decode<Value: Decodable>(_ type: Value.Type, fromJSON json: String) throws -> Value {
    try JSONDecoder().decode(type, from: Data(json.utf8))
}

private func encodeJSON(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// One field of each grammar type, as a spec would hold them.
private struct Sample: Codable, Equatable {
    var interval: TimeSpan
    var memory: ByteSize
    var cpus: CPUQuantity
    var schedule: CronSchedule
    var image: ImageReference
    var port: PortMapping
    var mount: Mount
    var stopSignal: StopSignal
}

@Suite struct GrammarCodingTests {
    @Test func encodesEachValueAsItsCanonicalText() throws {
        // given
        let sample = Sample(
            interval: .minutes(90),
            memory: try ByteSize(parsing: "1.5Gi"),
            cpus: try CPUQuantity(parsing: "1500m"),
            schedule: try CronSchedule(parsing: "@Daily"),
            image: try ImageReference(parsing: "ghcr.io/org/app:v2"),
            port: try PortMapping(parsing: "127.0.0.1:8443:443"),
            mount: try Mount(parsing: "/srv/config:/config:ro"),
            stopSignal: try StopSignal(parsing: "quit")
        )
        // when
        let json = try encodeJSON(sample)
        // then
        #expect(
            json == #"{"cpus":"1.5","image":"ghcr.io/org/app:v2","interval":"1h30m","memory":"1536Mi","#
                + #""mount":"/srv/config:/config:ro","port":"127.0.0.1:8443:443/tcp","schedule":"@daily","#
                + #""stopSignal":"SIGQUIT"}"#
        )
        #expect(try decode(Sample.self, fromJSON: json) == sample)
    }

    @Test func decodesSizesFromIntegerBytes() throws {
        #expect(try decode(ByteSize.self, fromJSON: "1048576") == ByteSize(bytes: 1_048_576))
        #expect(try decode(ByteSize.self, fromJSON: #""1Mi""#) == ByteSize(bytes: 1_048_576))
    }

    @Test(arguments: [("2", 2000), ("0.5", 500), ("0.001", 1), (#""250m""#, 250)])
    func decodesCPUQuantitiesFromNumbersAndText(json: String, millicores: Int) throws {
        #expect(try decode(CPUQuantity.self, fromJSON: json).millicores == millicores)
    }

    @Test func decodesStopSignalsFromIntegers() throws {
        #expect(try decode(StopSignal.self, fromJSON: "9").description == "SIGKILL")
    }

    @Test func reportsTheValidationMessageAsCorruptedData() {
        let error = #expect(throws: DecodingError.self) { try decode(TimeSpan.self, fromJSON: #""10""#) }
        guard case .dataCorrupted(let context)? = error else {
            Issue.record("expected dataCorrupted, got \(String(describing: error))")
            return
        }
        #expect(context.debugDescription.contains("found \"10\"; add a unit"))
    }

    @Test func reportsOutOfRangeNumbersWithTheParserMessage() {
        let error = #expect(throws: DecodingError.self) { try decode(CPUQuantity.self, fromJSON: "0.0001") }
        guard case .dataCorrupted(let context)? = error else {
            Issue.record("expected dataCorrupted, got \(String(describing: error))")
            return
        }
        #expect(context.debugDescription.contains("use at most 3 decimal places"))
    }

    @Test func refusesNumbersWhereOnlyTextIsMeaningful() {
        #expect(throws: DecodingError.self) { try decode(TimeSpan.self, fromJSON: "10") }
        #expect(throws: DecodingError.self) { try decode(PortMapping.self, fromJSON: "80") }
    }
}
