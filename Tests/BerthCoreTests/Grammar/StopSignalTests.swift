import BerthCore
import Testing

@Suite struct StopSignalTests {
    @Test(
        arguments: [
            ("SIGTERM", 15, "SIGTERM"), ("TERM", 15, "SIGTERM"), ("sigterm", 15, "SIGTERM"), ("SigKill", 9, "SIGKILL"),
            ("winch", 28, "SIGWINCH"), ("1", 1, "SIGHUP"), ("31", 31, "SIGSYS"), ("3", 3, "SIGQUIT"), ("34", 34, "34"),
            ("64", 64, "64"),
        ] as [(String, Int32, String)])
    func parsesNamesAndNumbers(text: String, number: Int32, canonical: String) throws {
        let signal = try StopSignal(parsing: text)
        #expect(signal.number == number)
        #expect(signal.description == canonical)
        #expect(try StopSignal(parsing: signal.description) == signal)
    }

    @Test func defaultsToDockersSignal() {
        #expect(StopSignal.sigterm.description == "SIGTERM")
    }

    @Test(arguments: [
        ("0", "signal numbers go from 1 to 64"),
        ("65", "signal numbers go from 1 to 64"),
        ("99999999999", "signal numbers go from 1 to 64"),
        ("SIGFOO", "expected a signal name such as SIGTERM, TERM or SIGQUIT, or a number 1-64, found \"SIGFOO\""),
        ("SIG", "found \"SIG\""),
        ("", "found \"\""),
        ("-9", "found \"-9\""),
        ("ſigterm", "found \"ſigterm\""),
    ])
    func rejectsUnknownSignals(text: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try StopSignal(parsing: text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }
}
