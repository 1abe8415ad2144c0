import BerthCore
import Testing

@Suite struct PortMappingTests {
    /// Input, then the expected host IP, host port, container port, transport and canonical text.
    @Test(
        arguments: [
            ("80", nil, nil, 80, .tcp, "80/tcp"),
            ("8080:80", nil, 8080, 80, .tcp, "8080:80/tcp"),
            ("127.0.0.1:8443:443", "127.0.0.1", 8443, 443, .tcp, "127.0.0.1:8443:443/tcp"),
            ("127.0.0.1::80", "127.0.0.1", nil, 80, .tcp, "127.0.0.1::80/tcp"),
            ("[::1]:8080:80", "::1", 8080, 80, .tcp, "[::1]:8080:80/tcp"),
            ("[::1]::53/udp", "::1", nil, 53, .udp, "[::1]::53/udp"),
            ("[2001:db8::1]:443:443/tcp", "2001:db8::1", 443, 443, .tcp, "[2001:db8::1]:443:443/tcp"),
            ("[::ffff:10.0.0.1]:80:80", "::ffff:10.0.0.1", 80, 80, .tcp, "[::ffff:10.0.0.1]:80:80/tcp"),
            ("[1:2:3:4:5:6:7:8]:1:1", "1:2:3:4:5:6:7:8", 1, 1, .tcp, "[1:2:3:4:5:6:7:8]:1:1/tcp"),
            ("53:53/udp", nil, 53, 53, .udp, "53:53/udp"),
            ("9000/sctp", nil, nil, 9000, .sctp, "9000/sctp"),
            ("0.0.0.0:65535:1", "0.0.0.0", 65535, 1, .tcp, "0.0.0.0:65535:1/tcp"),
        ] as [(String, String?, Int?, Int, PortMapping.Transport, String)])
    func parsesEveryForm(
        text: String, hostIP: String?, hostPort: Int?, containerPort: Int, transport: PortMapping.Transport,
        canonical: String
    ) throws {
        let mapping = try PortMapping(parsing: text)
        #expect(mapping.hostIP == hostIP)
        #expect(mapping.hostPort == hostPort)
        #expect(mapping.containerPort == containerPort)
        #expect(mapping.transport == transport)
        #expect(mapping.description == canonical)
        #expect(try PortMapping(parsing: mapping.description) == mapping)
    }

    @Test func bindsAHostPortOnlyWhenOneIsWritten() throws {
        #expect(try PortMapping(parsing: "8080:80").bindsHostPort)
        #expect(try !PortMapping(parsing: "80").bindsHostPort)
        #expect(try !PortMapping(parsing: "127.0.0.1::80").bindsHostPort)
    }

    @Test(arguments: [
        ("0", "the container port 0 is out of range 1-65535"),
        ("65536", "the container port 65536 is out of range 1-65535"),
        ("99999999999999999999", "is out of range 1-65535"),
        ("8000-8010:8000-8010", "port ranges such as 8000-8010 are not supported; publish each port separately"),
        ("80/http", "unknown protocol \"http\"; use tcp, udp or sctp"),
        ("80/TCP", "unknown protocol \"TCP\""),
        ("http", "the container port \"http\" is not a number"),
        (":80", "the host port is empty"),
        ("", "the container port is empty"),
        ("127.0.0.1:80", "the host port \"127.0.0.1\" is not a number"),
        ("256.0.0.1:80:80", "\"256.0.0.1\" is not an IPv4 address; put IPv6 addresses in brackets"),
        ("01.2.3.4:80:80", "\"01.2.3.4\" is not an IPv4 address"),
        ("::1:8080:80", "with IPv6 host IPs in brackets"),
        ("[::1:8080:80", "close the IPv6 address with \"]\""),
        ("[zz::1]:80:80", "\"zz::1\" is not an IPv6 address"),
        ("[1::2::3]:80:80", "\"1::2::3\" is not an IPv6 address"),
        ("[1:2:3:4:5:6:7]:80:80", "is not an IPv6 address"),
        ("[fe80::1%eth0]:80:80", "is not an IPv6 address"),
        ("[::1]80:80", "follow the host IP with a host port and a container port"),
        ("[::1]:80", "write [host IP:][host port:]container port"),
    ])
    func rejectsMalformedMappings(text: String, message: String) {
        let error = #expect(throws: ValidationError.self) { try PortMapping(parsing: text) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }

    @Test func explainsWhatWasExpected() {
        let error = #expect(throws: ValidationError.self) { try PortMapping(parsing: "80-81") }
        #expect(
            error?.description
                == "expected a port mapping such as 80, 8080:80, 127.0.0.1:8080:80 or [::1]:53:53/udp, "
                + "found \"80-81\"; port ranges such as 80-81 are not supported; publish each port separately"
        )
    }
}
