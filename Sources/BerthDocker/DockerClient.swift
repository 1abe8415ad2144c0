import BerthHTTP
import Foundation
import Synchronization

/// A typed client of the Docker Engine API (1.41 and later) over libcurl, on a unix socket or TCP.
/// Every call goes through one request helper and one decoder; errors are ``DockerError``s.
public final class DockerClient: Sendable {
    /// The oldest engine API Berth works with (Docker 20.10).
    public static let minimumAPIVersion = APIVersion(major: 1, minor: 41)
    /// The newest API Berth was written against; newer engines are spoken to at this version.
    public static let maximumAPIVersion = APIVersion(major: 1, minor: 47)

    public let endpoint: DockerEndpoint
    let http: CurlClient
    /// The negotiation of the API version, shared by the requests that need it meanwhile; reset
    /// when it fails, so the next request tries again.
    private let negotiation = Mutex<Task<APIVersion, any Error>?>(nil)

    public init(endpoint: DockerEndpoint, http: CurlClient = CurlClient(name: "berth-docker")) {
        self.endpoint = endpoint
        self.http = http
    }

    // MARK: Engine

    /// `GET /_ping`: true when the engine answers `OK`.
    public func ping() async throws(DockerError) -> Bool {
        let response = try await send("GET", "/_ping", versioned: false, what: "ping")
        return String(decoding: response.body, as: UTF8.self) == "OK"
    }

    /// `GET /version`, unversioned so it works before negotiation.
    public func version() async throws(DockerError) -> EngineVersion {
        try decode(EngineVersion.self, try await send("GET", "/version", versioned: false, what: "version"), "version")
    }

    public func info() async throws(DockerError) -> EngineInfo {
        try decode(EngineInfo.self, try await send("GET", "/info", what: "info"), "info")
    }

    /// The API version requests use: the engine's, capped at ``maximumAPIVersion``; an engine older
    /// than ``minimumAPIVersion`` is refused with a clear message.
    ///
    /// The version comes from the `Api-Version` header of `GET /_ping`, which the engine answers at
    /// once (`GET /version` asks containerd and the runtimes first: 100 ms and more).
    ///
    /// Requests made together before the version is known wait for one ping (an `apply` lists
    /// containers and volumes at once on a new client).
    public func apiVersion() async throws(DockerError) -> APIVersion {
        let negotiating = negotiation.withLock { current in
            if let current { return current }
            let started = Task { [self] () async throws -> APIVersion in
                let ping = try await send("GET", "/_ping", versioned: false, what: "ping")
                return try Self.negotiate(offered: ping.headers["api-version"] ?? "")
            }
            current = started
            return started
        }
        do {
            return try await negotiating.value
        } catch {
            negotiation.withLock { if $0 == negotiating { $0 = nil } }
            // `send` and `negotiate` throw only DockerErrors.
            throw error as? DockerError ?? DockerError(.engine, "negotiating the API version: \(error)")
        }
    }

    /// The version to speak to an engine offering `header` (its `Api-Version`): at most
    /// ``maximumAPIVersion``; below ``minimumAPIVersion`` is refused.
    static func negotiate(offered header: String) throws(DockerError) -> APIVersion {
        guard let offered = APIVersion(header) else {
            throw DockerError(.decoding, "the Docker engine reported API version \"\(header)\", which Berth cannot read")
        }
        guard offered >= minimumAPIVersion else {
            throw DockerError(.badRequest, "the Docker engine speaks API \(offered); Berth needs API \(minimumAPIVersion) or later (Docker 20.10+)")
        }
        return min(offered, maximumAPIVersion)
    }

    // MARK: Containers

    /// Containers carrying every `key=value` (or `key`) label given; all states unless `all` is false.
    public func listContainers(labels: [String] = [], all: Bool = true) async throws(DockerError) -> [ContainerSummary] {
        var query = [("all", all ? "1" : "0")]
        if !labels.isEmpty { query.append(("filters", Self.filters(["label": labels]))) }
        return try decode([ContainerSummary].self, try await send("GET", "/containers/json", query: query, what: "list containers"), "list containers")
    }

    public func inspectContainer(_ idOrName: String) async throws(DockerError) -> ContainerDetails {
        try decode(ContainerDetails.self, try await send("GET", "/containers/\(Self.escape(idOrName))/json", what: "inspect container \(idOrName)"), "inspect container")
    }

    /// One inspection read both ways: the container's state and how it was created.
    public func inspectContainerConfiguration(_ idOrName: String) async throws(DockerError) -> (ContainerDetails, ContainerConfiguration) {
        let response = try await send("GET", "/containers/\(Self.escape(idOrName))/json", what: "inspect container \(idOrName)")
        return (try decode(ContainerDetails.self, response, "inspect container"), try decode(ContainerConfiguration.self, response, "inspect container"))
    }

    /// Creates a container and returns its id; a name in use is a `.conflict`.
    public func createContainer(name: String, _ request: ContainerCreateRequest) async throws(DockerError) -> String {
        struct Created: Decodable {
            var id: String
            enum CodingKeys: String, CodingKey { case id = "Id" }
        }
        let response = try await send("POST", "/containers/create", query: [("name", name)], json: request, what: "create container \(name)")
        return try decode(Created.self, response, "create container").id
    }

    /// Starts a container; one already running is a `.notModified`.
    public func startContainer(_ idOrName: String) async throws(DockerError) {
        _ = try await send("POST", "/containers/\(Self.escape(idOrName))/start", what: "start container \(idOrName)")
    }

    /// Sends the container's stop signal, waits up to `timeout` seconds, then kills it.
    public func stopContainer(_ idOrName: String, timeout: Int) async throws(DockerError) {
        _ = try await send("POST", "/containers/\(Self.escape(idOrName))/stop", query: [("t", String(timeout))], timeout: .seconds(timeout + 30), what: "stop container \(idOrName)")
    }

    public func killContainer(_ idOrName: String, signal: String = "SIGKILL") async throws(DockerError) {
        _ = try await send("POST", "/containers/\(Self.escape(idOrName))/kill", query: [("signal", signal)], what: "kill container \(idOrName)")
    }

    /// Stops (waiting up to `timeout` seconds) and starts a container.
    public func restartContainer(_ idOrName: String, timeout: Int) async throws(DockerError) {
        _ = try await send("POST", "/containers/\(Self.escape(idOrName))/restart", query: [("t", String(timeout))], timeout: .seconds(timeout + 30), what: "restart container \(idOrName)")
    }

    public func renameContainer(_ idOrName: String, to newName: String) async throws(DockerError) {
        _ = try await send("POST", "/containers/\(Self.escape(idOrName))/rename", query: [("name", newName)], what: "rename container \(idOrName)")
    }

    /// Removes a container; `force` kills a running one first.
    public func removeContainer(_ idOrName: String, force: Bool = false, volumes: Bool = false) async throws(DockerError) {
        _ = try await send("DELETE", "/containers/\(Self.escape(idOrName))", query: [("force", force ? "1" : "0"), ("v", volumes ? "1" : "0")], what: "remove container \(idOrName)")
    }

    /// Waits until the container is not running and returns its exit code; past `timeout` (none
    /// by default) the wait ends with a `.timeout` and the container keeps running.
    public func waitContainer(_ idOrName: String, timeout: Duration? = nil) async throws(DockerError) -> Int {
        struct Waited: Decodable {
            var statusCode: Int
            enum CodingKeys: String, CodingKey { case statusCode = "StatusCode" }
        }
        let response = try await send("POST", "/containers/\(Self.escape(idOrName))/wait", query: [("condition", "not-running")], timeout: timeout, what: "wait for container \(idOrName)")
        return try decode(Waited.self, response, "wait for container").statusCode
    }

    /// Standard output and error so far, demultiplexed; `tail` lines at most, `since` a time.
    /// Reading stops at the first frame that brings the output to `byteLimit` bytes; the rest
    /// of the engine's answer is never read.
    public func logs(_ idOrName: String, tail: Int? = nil, since: Date? = nil, byteLimit: Int = .max) async throws(DockerError) -> ContainerLogs {
        let response = try await openStream(
            "GET", "/containers/\(Self.escape(idOrName))/logs", query: Self.logQuery(follow: false, tail: tail, since: since),
            timeout: .seconds(60), what: "logs of container \(idOrName)"
        )
        var demultiplexer = LogDemultiplexer()
        var logs = ContainerLogs()
        do {
            reading: for try await chunk in response.body {
                for frame in demultiplexer.feed(chunk) {
                    logs.append(frame)
                    if logs.stdout.count + logs.stderr.count >= byteLimit { break reading }
                }
            }
        } catch {
            throw Self.mapTransport(error, endpoint)
        }
        return logs
    }

    /// Log frames as the container writes them, until it stops or the iteration ends.
    public func followLogs(_ idOrName: String, tail: Int? = nil, since: Date? = nil) async throws(DockerError) -> AsyncThrowingStream<LogFrame, any Error> {
        try await logFrames(idOrName, follow: true, tail: tail, since: since)
    }

    /// Every log frame written so far, as the engine sends them: a whole log read without
    /// holding it (a job's archived output).
    public func allLogFrames(_ idOrName: String) async throws(DockerError) -> AsyncThrowingStream<LogFrame, any Error> {
        try await logFrames(idOrName, follow: false, tail: nil, since: nil)
    }

    private func logFrames(_ idOrName: String, follow: Bool, tail: Int?, since: Date?) async throws(DockerError) -> AsyncThrowingStream<LogFrame, any Error> {
        let response = try await openStream(
            "GET", "/containers/\(Self.escape(idOrName))/logs", query: Self.logQuery(follow: follow, tail: tail, since: since),
            timeout: follow ? nil : .seconds(600), what: "\(follow ? "follow " : "")logs of container \(idOrName)")
        return AsyncThrowingStream { continuation in
            let task = Task {
                var demultiplexer = LogDemultiplexer()
                do {
                    for try await chunk in response.body {
                        for frame in demultiplexer.feed(chunk) { continuation.yield(frame) }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: Self.mapTransport(error, endpoint))
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// The files under `path` in the container, as a tar archive's entries.
    public func readArchive(_ idOrName: String, path: String) async throws(DockerError) -> [TarArchive.Entry] {
        let response = try await send("GET", "/containers/\(Self.escape(idOrName))/archive", query: [("path", path)], what: "read \(path) from container \(idOrName)")
        do {
            return try TarArchive.read(response.body)
        } catch {
            throw DockerError(.decoding, "the archive of \(path) from container \(idOrName) is not a tar archive Berth can read: \(error)")
        }
    }

    /// One file of a container read through the archive API, never holding more than `limit`
    /// bytes of it: `nil` when the path does not exist.
    public func readFile(_ idOrName: String, path: String, limit: Int) async throws(DockerError) -> BoundedFile? {
        let response: HTTPStreamResponse
        do {
            response = try await openStream("GET", "/containers/\(Self.escape(idOrName))/archive", query: [("path", path)], what: "read \(path) from container \(idOrName)")
        } catch  where error.code == .notFound {
            return nil
        }
        // A tar of one file: a 512-byte header, the contents padded to 512, two zero blocks.
        let ceiling = limit + 2048
        var bytes: [UInt8] = []
        do {
            for try await chunk in response.body {
                bytes += chunk
                if bytes.count > ceiling { return .tooLarge }
            }
        } catch {
            throw Self.mapTransport(error, endpoint)
        }
        let entries: [TarArchive.Entry]
        do {
            entries = try TarArchive.read(bytes)
        } catch {
            throw DockerError(.decoding, "the archive of \(path) from container \(idOrName) is not a tar archive Berth can read: \(error)")
        }
        guard let file = entries.first(where: { $0.kind == .file }) else { return .notAFile }
        return file.contents.count > limit ? .tooLarge : .contents(file.contents)
    }

    /// Writes `entries` into the folder `path` of the container (which must exist).
    public func writeArchive(_ idOrName: String, path: String, entries: [TarArchive.Entry]) async throws(DockerError) {
        _ = try await send(
            "PUT", "/containers/\(Self.escape(idOrName))/archive", query: [("path", path)],
            body: TarArchive.write(entries), contentType: "application/x-tar", what: "write into \(path) of container \(idOrName)"
        )
    }

    // MARK: Volumes

    public func listVolumes(labels: [String] = []) async throws(DockerError) -> [VolumeDetails] {
        struct Listing: Decodable {
            var volumes: [VolumeDetails]?
            enum CodingKeys: String, CodingKey { case volumes = "Volumes" }
        }
        let query = labels.isEmpty ? [] : [("filters", Self.filters(["label": labels]))]
        return try decode(Listing.self, try await send("GET", "/volumes", query: query, what: "list volumes"), "list volumes").volumes ?? []
    }

    public func inspectVolume(_ name: String) async throws(DockerError) -> VolumeDetails {
        try decode(VolumeDetails.self, try await send("GET", "/volumes/\(Self.escape(name))", what: "inspect volume \(name)"), "inspect volume")
    }

    /// Creates a volume (the engine answers with the existing one when the name is taken).
    public func createVolume(_ request: VolumeCreateRequest) async throws(DockerError) -> VolumeDetails {
        try decode(VolumeDetails.self, try await send("POST", "/volumes/create", json: request, what: "create volume \(request.name)"), "create volume")
    }

    /// Removes a volume; one in use is a `.conflict`.
    public func removeVolume(_ name: String, force: Bool = false) async throws(DockerError) {
        _ = try await send("DELETE", "/volumes/\(Self.escape(name))", query: [("force", force ? "1" : "0")], what: "remove volume \(name)")
    }

    // MARK: Networks

    public func listNetworks() async throws(DockerError) -> [NetworkDetails] {
        try decode([NetworkDetails].self, try await send("GET", "/networks", what: "list networks"), "list networks")
    }

    public func inspectNetwork(_ idOrName: String) async throws(DockerError) -> NetworkDetails {
        try decode(NetworkDetails.self, try await send("GET", "/networks/\(Self.escape(idOrName))", what: "inspect network \(idOrName)"), "inspect network")
    }

    /// Creates a network; a name already taken is a `.conflict`.
    public func createNetwork(_ request: NetworkCreateRequest) async throws(DockerError) {
        _ = try await send("POST", "/networks/create", json: request, what: "create network \(request.name)")
    }

    /// Removes a network; one with containers attached is a `.forbidden` or `.conflict`.
    public func removeNetwork(_ idOrName: String) async throws(DockerError) {
        _ = try await send("DELETE", "/networks/\(Self.escape(idOrName))", what: "remove network \(idOrName)")
    }

    public func connectNetwork(_ idOrName: String, _ request: NetworkConnectRequest) async throws(DockerError) {
        _ = try await send("POST", "/networks/\(Self.escape(idOrName))/connect", json: request, what: "connect \(request.container) to network \(idOrName)")
    }

    public func disconnectNetwork(_ idOrName: String, _ request: NetworkDisconnectRequest) async throws(DockerError) {
        _ = try await send("POST", "/networks/\(Self.escape(idOrName))/disconnect", json: request, what: "disconnect \(request.container) from network \(idOrName)")
    }

    // MARK: Images

    public func inspectImage(_ reference: String) async throws(DockerError) -> ImageDetails {
        try decode(ImageDetails.self, try await send("GET", "/images/\(reference)/json", what: "inspect image \(reference)"), "inspect image")
    }

    /// Pulls an image, reporting each progress line; an error line from the engine ends it with `.engine`.
    public func pullImage(_ reference: String, tag: String, progress: @Sendable (PullProgress) -> Void = { _ in }) async throws(DockerError) {
        let response = try await openStream("POST", "/images/create", query: [("fromImage", reference), ("tag", tag)], what: "pull image \(reference):\(tag)")
        var lines = LineBuffer()
        do {
            for try await chunk in response.body {
                for line in lines.feed(chunk) {
                    guard let update = try? JSONDecoder().decode(PullProgress.self, from: Data(line)) else { continue }
                    if let message = update.error {
                        throw DockerError(.engine, "pulling \(reference):\(tag) failed: \(message)")
                    }
                    progress(update)
                }
            }
        } catch let error as DockerError {
            throw error
        } catch {
            throw Self.mapTransport(error, endpoint)
        }
    }

    /// Removes an image by reference or id.
    public func removeImage(_ reference: String, force: Bool = false) async throws(DockerError) {
        _ = try await send("DELETE", "/images/\(reference)", query: [("force", force ? "1" : "0")], what: "remove image \(reference)")
    }

    /// Creates an image from a root filesystem tarball, like `docker import`.
    public func importImage(rootFilesystem tar: [UInt8], repository: String, tag: String) async throws(DockerError) {
        let response = try await send(
            "POST", "/images/create", query: [("fromSrc", "-"), ("repo", repository), ("tag", tag)],
            body: tar, contentType: "application/x-tar", timeout: .seconds(300), what: "import image \(repository):\(tag)"
        )
        if let text = String(validating: response.body, as: UTF8.self), text.contains("\"error\"") {
            throw DockerError(.engine, "importing \(repository):\(tag) failed: \(text)")
        }
    }

    // MARK: The one request helper

    /// Sends one request and maps transport failures and error statuses to ``DockerError``.
    func send(
        _ method: String, _ path: String, query: [(String, String)] = [], versioned: Bool = true,
        body: [UInt8]? = nil, contentType: String? = nil, timeout: Duration? = .seconds(60), what: String
    ) async throws(DockerError) -> HTTPResponse {
        let request = try await makeRequest(method, path, query: query, versioned: versioned, body: body, contentType: contentType, timeout: timeout)
        let response: HTTPResponse
        do {
            response = try await http.send(request)
        } catch {
            throw Self.mapTransport(error, endpoint)
        }
        try Self.check(response.status, response.body, what)
        return response
    }

    /// Sends `value` as a JSON body.
    func send(_ method: String, _ path: String, query: [(String, String)] = [], json value: some Encodable, what: String) async throws(DockerError) -> HTTPResponse {
        let body: Data
        do {
            body = try JSONEncoder().encode(value)
        } catch {
            throw DockerError(.badRequest, "cannot encode the request to \(what): \(error)")
        }
        return try await send(method, path, query: query, body: Array(body), contentType: "application/json", what: what)
    }

    /// Opens a streaming response (events, logs, pull progress) after checking its status; a
    /// `timeout` bounds the whole transfer.
    func openStream(_ method: String, _ path: String, query: [(String, String)] = [], timeout: Duration? = nil, what: String) async throws(DockerError) -> HTTPStreamResponse {
        let request = try await makeRequest(method, path, query: query, versioned: true, body: nil, contentType: nil, timeout: timeout)
        let response: HTTPStreamResponse
        do {
            response = try await http.stream(request)
        } catch {
            throw Self.mapTransport(error, endpoint)
        }
        if !(200..<300).contains(response.status) {
            var body: [UInt8] = []
            do {
                for try await chunk in response.body { body += chunk }
            } catch {
                throw Self.mapTransport(error, endpoint)
            }
            try Self.check(response.status, body, what)
        }
        return response
    }

    private func makeRequest(
        _ method: String, _ path: String, query: [(String, String)], versioned: Bool,
        body: [UInt8]?, contentType: String?, timeout: Duration?
    ) async throws(DockerError) -> HTTPRequest {
        let prefix = versioned ? "/v\(try await apiVersion())" : ""
        let queryText = query.isEmpty ? "" : "?" + query.map { "\($0.0)=\(Self.escape($0.1))" }.joined(separator: "&")
        var headers: [(name: String, value: String)] = []
        if let contentType { headers.append(("Content-Type", contentType)) }
        return HTTPRequest(
            method: method, url: endpoint.baseURL + prefix + path + queryText, headers: headers,
            body: body, timeout: timeout, connection: endpoint.connection
        )
    }

    /// The one decoder: unknown fields are ignored; a missing required one names the field.
    func decode<T: Decodable>(_ type: T.Type, _ response: HTTPResponse, _ what: String) throws(DockerError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body))
        } catch {
            throw DockerError.decoding(what, error)
        }
    }

    static func check(_ status: Int, _ body: [UInt8], _ what: String) throws(DockerError) {
        guard !(200..<300).contains(status) else { return }
        struct EngineMessage: Decodable { var message: String }
        let engineMessage =
            (try? JSONDecoder().decode(EngineMessage.self, from: Data(body)))?.message
            ?? String(decoding: body.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let message = "\(what): \(engineMessage.isEmpty ? "HTTP \(status)" : engineMessage)"
        switch status {
        case 304: throw DockerError(.notModified, message, status: status)
        case 400: throw DockerError(.badRequest, message, status: status)
        case 404: throw DockerError(.notFound, message, status: status)
        case 409: throw DockerError(.conflict, message, status: status)
        default: throw DockerError(.engine, message, status: status)
        }
    }

    static func mapTransport(_ error: any Error, _ endpoint: DockerEndpoint) -> DockerError {
        if let error = error as? DockerError { return error }
        if error is CancellationError { return DockerError(.cancelled, "cancelled") }
        guard let error = error as? HTTPError else { return DockerError(.engine, "\(error)") }
        switch error.kind {
        case .unreachable: return .unreachable(endpoint, error.message)
        case .timeout: return DockerError(.timeout, "the Docker engine at \(endpoint) did not answer in time: \(error.message)")
        case .cancelled: return DockerError(.cancelled, "cancelled")
        case .transfer: return DockerError(.unreachable, "the connection to the Docker engine at \(endpoint) failed: \(error.message)")
        }
    }

    static func filters(_ filters: [String: [String]]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(filters)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    private static func logQuery(follow: Bool, tail: Int?, since: Date?) -> [(String, String)] {
        var query = [("stdout", "1"), ("stderr", "1"), ("follow", follow ? "1" : "0")]
        if let tail { query.append(("tail", String(tail))) }
        if let since { query.append(("since", String(format: "%.9f", since.timeIntervalSince1970))) }
        return query
    }

    /// Percent-encodes everything but RFC 3986's unreserved characters.
    static func escape(_ text: String) -> String {
        PercentEncoding.component(text)
    }
}

/// An engine API version such as `1.41`.
public struct APIVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ".")
        guard parts.count == 2, let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        self.init(major: major, minor: minor)
    }

    public static func < (lhs: APIVersion, rhs: APIVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }

    public var description: String { "\(major).\(minor)" }
}

/// Splits a byte stream into newline-terminated lines (JSON streams).
struct LineBuffer {
    private var pending: [UInt8] = []

    mutating func feed(_ chunk: [UInt8]) -> [[UInt8]] {
        pending += chunk
        var lines: [[UInt8]] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = Array(pending[..<newline])
            pending.removeSubrange(...newline)
            if !line.isEmpty { lines.append(line) }
        }
        return lines
    }
}
