import BerthAPI
import BerthController
import Hummingbird
import Logging

/// Builds the HTTP API `serve` runs (and route tests drive without a socket): the routes on the
/// given dependencies, served as the configuration says, announcing where it listens.
public enum APIAssembly {
    /// The API as a service; once it listens, its URL is logged and set in `address` (where job
    /// containers learn it).
    public static func makeAPI(
        _ dependencies: APIDependencies, configuration: APIServerConfiguration, address: APIAddress? = nil,
        logger: Logger = Logger(label: "berth.api")
    ) throws(APIConfigurationError) -> some ApplicationProtocol {
        let scheme = configuration.tlsCertificate == nil ? "http" : "https"
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        return try APIServer.application(dependencies, configuration: configuration, logger: logger) { port in
            let url = "\(scheme)://\(host):\(port)"
            address?.set(url)
            logger.info("API listening on \(url)")
        }
    }
}
