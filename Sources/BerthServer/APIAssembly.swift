import BerthAPI
import BerthController
import BerthWebUI
import Hummingbird
import Logging

/// Builds the HTTP API `serve` runs (and route tests drive without a socket): the routes on the
/// given dependencies, served as the configuration says, announcing where it listens.
public enum APIAssembly {
    /// The API as a service, with the web UI at `/ui/` unless `ui` is nil (`--no-ui`; its cookies
    /// are `Secure` under TLS); once it listens, its URL is logged and set in `address` (where job
    /// containers learn it).
    public static func makeAPI(
        _ dependencies: APIDependencies, configuration: APIServerConfiguration, address: APIAddress? = nil,
        ui: WebUIConfiguration? = WebUIConfiguration(), logger: Logger = Logger(label: "berth.api")
    ) throws(APIConfigurationError) -> some ApplicationProtocol {
        let scheme = configuration.tlsCertificate == nil ? "http" : "https"
        let host = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        let routes: (Router<APIRequestContext>) -> Void = { router in
            guard var ui else { return }
            ui.secureCookies = ui.secureCookies || configuration.tlsCertificate != nil
            WebUI.register(on: router, dependencies: dependencies, configuration: ui)
        }
        return try APIServer.application(dependencies, configuration: configuration, logger: logger, routes: routes) { port in
            let url = "\(scheme)://\(host):\(port)"
            address?.set(url)
            logger.info("API listening on \(url)")
        }
    }
}
