import BerthHTTP
import Foundation

/// Where the Docker engine listens: a unix socket (the default) or TCP, with TLS when configured.
public struct DockerEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// The URL prefix requests are sent to (`http://localhost` for sockets).
    public var baseURL: String
    public var connection: HTTPRequest.Connection
    private let text: String

    /// The engine's default socket.
    public static let defaultHost = "unix:///var/run/docker.sock"

    /// Parses `unix:///path` or `tcp://host:port`; TLS follows Docker's `DOCKER_TLS_VERIFY` and
    /// `DOCKER_CERT_PATH` (`ca.pem`, `cert.pem`, `key.pem`; default `~/.docker`).
    public init(host: String = defaultHost, environment: [String: String] = [:]) throws(DockerError) {
        text = host
        if host.hasPrefix("unix://") {
            let path = String(host.dropFirst("unix://".count))
            guard path.hasPrefix("/") else { throw DockerError(.badRequest, "expected unix:///absolute/path in DOCKER_HOST, found \"\(host)\"") }
            baseURL = "http://localhost"
            connection = .unixSocket(path: path)
        } else if host.hasPrefix("tcp://") {
            let address = String(host.dropFirst("tcp://".count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            guard !address.isEmpty else { throw DockerError(.badRequest, "expected tcp://host:port in DOCKER_HOST, found \"\(host)\"") }
            let verify = !(environment["DOCKER_TLS_VERIFY"] ?? "").isEmpty
            let certPath = environment["DOCKER_CERT_PATH"]
            if verify || certPath != nil {
                let folder = certPath ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.docker")
                baseURL = "https://\(address)"
                connection = .tcp(
                    tls: HTTPRequest.TLSFiles(
                        certificate: folder + "/cert.pem", key: folder + "/key.pem",
                        certificateAuthority: folder + "/ca.pem", verifyPeer: verify
                    ))
            } else {
                baseURL = "http://\(address)"
                connection = .tcp(tls: nil)
            }
        } else {
            throw DockerError(.badRequest, "expected DOCKER_HOST as unix:///path or tcp://host:port, found \"\(host)\"")
        }
    }

    /// `DOCKER_HOST` from `environment`, else the default socket.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(DockerError) -> DockerEndpoint {
        try DockerEndpoint(host: environment["DOCKER_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultHost, environment: environment)
    }

    public var description: String { text }
}
