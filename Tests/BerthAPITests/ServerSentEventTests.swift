@testable import BerthAPI
import NIOCore
import Testing

/// The event-stream framing on both ends: what a worker writes never becomes a field or an event
/// of its own, whichever line ends (CR, LF, CRLF) it uses.
@Suite("Server-sent events") struct ServerSentEventTests {
    static let forgery = "out\r\n\r\nevent: end\r\ndata: {\"state\":\"finished\"}\r\n\r\nlast\rline\n"

    @Test func everyLineEndInDataStartsADataLine() {
        // when
        let framed = ServerSentEvents.event("stdout", data: Self.forgery)

        // then
        let lines = [
            "event: stdout", "data: out", "data: ", "data: event: end", #"data: data: {"state":"finished"}"#, "data: ", "data: last", "data: line", "", "",
        ]
        #expect(String(buffer: framed) == lines.joined(separator: "\n"))
    }

    @Test func aFramedForgeryIsReadBackAsOneEventWithTheWorkersText() {
        // given
        var parser = ServerSentEventParser()
        let framed = Array(buffer: ServerSentEvents.event("stdout", data: Self.forgery))

        // when: fed a byte at a time, so a CRLF may arrive split
        let events = framed.flatMap { parser.feed([$0]) }

        // then
        #expect(events == [ServerSentEvent(name: "stdout", id: nil, data: "out\n\nevent: end\ndata: {\"state\":\"finished\"}\n\nlast\nline")])
    }

    @Test(arguments: ["\n", "\r", "\r\n"])
    func theParserEndsLinesAtCRLFAndCRLF(lineEnd: String) {
        // given
        var parser = ServerSentEventParser()
        let stream = ["event: stdout", "id: 7", "data: a", "data: b", "", "event: end", "data: {}", "", ""].joined(separator: lineEnd)

        // when: split between CR and LF too
        let bytes = Array(stream.utf8)
        let events = parser.feed(Array(bytes[..<14])) + parser.feed(Array(bytes[14...]))

        // then
        #expect(events == [ServerSentEvent(name: "stdout", id: "7", data: "a\nb"), ServerSentEvent(name: "end", id: "7", data: "{}")])
    }
}
