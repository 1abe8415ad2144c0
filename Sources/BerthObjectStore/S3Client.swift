import BerthCore
import BerthHTTP
import Crypto
import Foundation

/// A client of the S3 bucket API over libcurl, signed by curl's built-in AWS Signature V4. Every
/// call goes through one request helper; responses are read with one XML parser; errors are
/// ``S3Error``s carrying the endpoint's code and message.
public final class S3Client: Sendable {
    public let configuration: S3Configuration
    private let http: CurlClient

    public init(configuration: S3Configuration, http: CurlClient = CurlClient(name: "berth-s3")) {
        self.configuration = configuration
        self.http = http
    }

    // MARK: Buckets

    /// `ListBuckets`: the names of every bucket the credentials own.
    public func listBuckets() async throws(S3Error) -> [String] {
        let document = try await sendXML("GET", bucket: nil, operation: "ListBuckets")
        return (document.child("Buckets")?.all("Bucket") ?? []).compactMap { $0.value("Name") }
    }

    /// `HeadBucket`: whether the bucket exists (and the credentials may use it); `AccessDenied`
    /// when it exists for someone else.
    public func bucketExists(_ bucket: String) async throws(S3Error) -> Bool {
        do throws(S3Error) {
            _ = try await send("HEAD", bucket: bucket, operation: "HeadBucket \(bucket)")
            return true
        } catch  where error.code == .noSuchBucket {
            return false
        }
    }

    /// `CreateBucket` in the configured region (a `LocationConstraint` outside `us-east-1`).
    public func createBucket(_ bucket: String) async throws(S3Error) {
        var body: [UInt8]?
        if configuration.region != S3Configuration.defaultRegion {
            var xml = XMLWriter()
            xml.element("CreateBucketConfiguration", root: true) { $0.element("LocationConstraint", configuration.region) }
            body = xml.bytes
        }
        _ = try await send("PUT", bucket: bucket, body: body, operation: "CreateBucket \(bucket)")
    }

    /// `DeleteBucket`: `BucketNotEmpty` while any object or object version remains.
    public func deleteBucket(_ bucket: String) async throws(S3Error) {
        _ = try await send("DELETE", bucket: bucket, operation: "DeleteBucket \(bucket)")
    }

    // MARK: Versioning

    /// `GetBucketVersioning`.
    public func versioning(_ bucket: String) async throws(S3Error) -> ObservedBucket.Versioning {
        let document = try await sendXML("GET", bucket: bucket, query: [("versioning", "")], operation: "GetBucketVersioning \(bucket)")
        guard let status = document.value("Status"), !status.isEmpty else { return .unversioned }
        guard let versioning = ObservedBucket.Versioning(rawValue: status) else {
            throw S3Error(.invalidResponse, "unexpected versioning status \"\(status)\"", operation: "GetBucketVersioning \(bucket)")
        }
        return versioning
    }

    /// `PutBucketVersioning`: Enabled, or Suspended.
    public func setVersioning(_ bucket: String, enabled: Bool) async throws(S3Error) {
        var xml = XMLWriter()
        xml.element("VersioningConfiguration", root: true) { $0.element("Status", enabled ? "Enabled" : "Suspended") }
        _ = try await send("PUT", bucket: bucket, query: [("versioning", "")], body: xml.bytes, operation: "PutBucketVersioning \(bucket)")
    }

    // MARK: Lifecycle

    /// `GetBucketLifecycleConfiguration`: the rules; none without a configuration.
    public func lifecycle(_ bucket: String) async throws(S3Error) -> [LifecycleRule] {
        do throws(S3Error) {
            let document = try await sendXML("GET", bucket: bucket, query: [("lifecycle", "")], operation: "GetBucketLifecycleConfiguration \(bucket)")
            return document.all("Rule").map(LifecycleRule.init)
        } catch  where error.code == .noSuchLifecycleConfiguration {
            return []
        }
    }

    /// `PutBucketLifecycleConfiguration` with these rules (replacing all), or
    /// `DeleteBucketLifecycle` when there are none.
    public func setLifecycle(_ bucket: String, rules: [LifecycleRule]) async throws(S3Error) {
        guard !rules.isEmpty else {
            _ = try await send("DELETE", bucket: bucket, query: [("lifecycle", "")], operation: "DeleteBucketLifecycle \(bucket)")
            return
        }
        var xml = XMLWriter()
        xml.element("LifecycleConfiguration", root: true) { xml in
            for rule in rules { rule.write(to: &xml) }
        }
        _ = try await send("PUT", bucket: bucket, query: [("lifecycle", "")], body: xml.bytes, operation: "PutBucketLifecycleConfiguration \(bucket)")
    }

    // MARK: Tags

    /// `GetBucketTagging`: the tags; none when the bucket has no tag set.
    public func tags(_ bucket: String) async throws(S3Error) -> [String: String] {
        do throws(S3Error) {
            let document = try await sendXML("GET", bucket: bucket, query: [("tagging", "")], operation: "GetBucketTagging \(bucket)")
            var tags: [String: String] = [:]
            for tag in document.child("TagSet")?.all("Tag") ?? [] {
                guard let key = tag.child("Key")?.text else { continue }
                tags[key] = tag.child("Value")?.text ?? ""
            }
            return tags
        } catch  where error.code == .noSuchTagSet {
            return [:]
        }
    }

    /// `PutBucketTagging` (replacing every tag), or `DeleteBucketTagging` for none.
    public func setTags(_ bucket: String, _ tags: [String: String]) async throws(S3Error) {
        guard !tags.isEmpty else {
            _ = try await send("DELETE", bucket: bucket, query: [("tagging", "")], operation: "DeleteBucketTagging \(bucket)")
            return
        }
        var xml = XMLWriter()
        xml.element("Tagging", root: true) { xml in
            xml.element("TagSet") { xml in
                for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
                    xml.element("Tag") { tag in
                        tag.element("Key", key)
                        tag.element("Value", value)
                    }
                }
            }
        }
        _ = try await send("PUT", bucket: bucket, query: [("tagging", "")], body: xml.bytes, operation: "PutBucketTagging \(bucket)")
    }

    // MARK: Objects

    /// Whether the bucket holds no object, no object version and no delete marker (what
    /// `DeleteBucket` requires): one `ListObjectVersions` of at most one entry.
    public func isEmpty(_ bucket: String) async throws(S3Error) -> Bool {
        try await objectVersions(bucket, limit: 1).isEmpty
    }

    /// `PutObject` of a small body.
    public func putObject(_ bucket: String, key: String, body: [UInt8]) async throws(S3Error) {
        _ = try await send("PUT", bucket: bucket, key: key, body: body, contentType: "application/octet-stream", operation: "PutObject \(bucket)/\(key)")
    }

    /// `GetObject`, its body as it arrives (`NoSuchKey` for a missing object).
    public func objectStream(_ bucket: String, key: String) async throws(S3Error) -> AsyncThrowingStream<[UInt8], any Error> {
        let operation = "GetObject \(bucket)/\(key)"
        let response: HTTPStreamResponse
        do {
            response = try await http.stream(request("GET", bucket: bucket, key: key, query: [], body: nil, contentType: "", timeout: .seconds(600)))
        } catch {
            throw Self.transportError(error, configuration, operation)
        }
        guard (200..<300).contains(response.status) else {
            // An error's body is a small XML document.
            var body: [UInt8] = []
            do {
                for try await chunk in response.body where body.count < 64 * 1024 { body += chunk }
            } catch {
                throw Self.transportError(error, configuration, operation)
            }
            throw Self.error(HTTPResponse(status: response.status, headers: response.headers, body: body), operation: operation)
        }
        return response.body
    }

    /// Deletes every object version and delete marker, a thousand per `DeleteObjects` call.
    public func deleteAllObjects(_ bucket: String) async throws(S3Error) {
        var previous: [ObjectVersion] = []
        while true {
            let versions = try await objectVersions(bucket, limit: 1000)
            if versions.isEmpty { return }
            // A round that deleted nothing would repeat forever.
            guard versions != previous else {
                throw S3Error(.invalidResponse, "the endpoint reported the objects deleted, but lists them still", operation: "DeleteObjects \(bucket)")
            }
            previous = versions
            var xml = XMLWriter()
            xml.element("Delete", root: true) { xml in
                xml.element("Quiet", "true")
                for version in versions {
                    xml.element("Object") { object in
                        object.element("Key", version.key)
                        if let id = version.versionID { object.element("VersionId", id) }
                    }
                }
            }
            let document = try await sendXML("POST", bucket: bucket, query: [("delete", "")], body: xml.bytes, operation: "DeleteObjects \(bucket)")
            if let failed = document.child("Error") {
                let code = S3Error.Code(rawValue: failed.value("Code") ?? "InternalError")
                throw S3Error(code, "\(failed.value("Key") ?? "?"): \(failed.value("Message") ?? "not deleted")", operation: "DeleteObjects \(bucket)")
            }
        }
    }

    /// An object version or delete marker; `null` is the version ID of what was written while
    /// versioning was off, and must be named to delete it.
    private struct ObjectVersion: Equatable {
        var key: String
        var versionID: String?
    }

    /// The first `limit` object versions and delete markers (`ListObjectVersions`).
    private func objectVersions(_ bucket: String, limit: Int) async throws(S3Error) -> [ObjectVersion] {
        let document = try await sendXML("GET", bucket: bucket, query: [("versions", ""), ("max-keys", String(limit))], operation: "ListObjectVersions \(bucket)")
        return document.children.filter { $0.name == "Version" || $0.name == "DeleteMarker" }.compactMap { entry in
            guard let key = entry.child("Key")?.text else { return nil }
            return ObjectVersion(key: key, versionID: entry.value("VersionId").flatMap { $0.isEmpty ? nil : $0 })
        }
    }

    // MARK: Requests

    /// The one request helper: builds the URL for the addressing style, adds the payload hash and
    /// `Content-MD5` curl's signing needs, sends, and turns any non-2xx answer into an ``S3Error``.
    func send(
        _ method: String, bucket: String?, key: String? = nil, query: [(String, String)] = [],
        body: [UInt8]? = nil, contentType: String = "application/xml", operation: String
    ) async throws(S3Error) -> HTTPResponse {
        let response: HTTPResponse
        do {
            response = try await http.send(request(method, bucket: bucket, key: key, query: query, body: body, contentType: contentType))
        } catch {
            throw Self.transportError(error, configuration, operation)
        }
        guard (200..<300).contains(response.status) else {
            throw Self.error(response, operation: operation)
        }
        return response
    }

    /// A signed request: the URL for the addressing style, the payload hash and `Content-MD5`.
    private func request(
        _ method: String, bucket: String?, key: String?, query: [(String, String)], body: [UInt8]?, contentType: String,
        timeout: Duration? = .seconds(60)
    ) -> HTTPRequest {
        var headers: [(name: String, value: String)] = [
            ("x-amz-content-sha256", SHA256.hash(data: body ?? []).map { String(format: "%02x", $0) }.joined())
        ]
        if let body {
            headers.append(("Content-Type", contentType))
            // Tagging, lifecycle and multi-object delete require it; it costs nothing elsewhere.
            headers.append(("Content-MD5", Data(Insecure.MD5.hash(data: body)).base64EncodedString()))
        }
        let credentials = configuration.credentials
        if let token = credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
        return HTTPRequest(
            method: method, url: url(bucket: bucket, key: key, query: query), headers: headers, body: body, timeout: timeout,
            awsSigV4: HTTPRequest.AWSSigning(provider: "aws:amz:\(configuration.region):s3", accessKey: credentials.accessKey, secretKey: credentials.secretKey)
        )
    }

    private func sendXML(
        _ method: String, bucket: String?, query: [(String, String)] = [], body: [UInt8]? = nil, operation: String
    ) async throws(S3Error) -> XMLElement {
        let response = try await send(method, bucket: bucket, query: query, body: body, operation: operation)
        guard let document = XMLElement.parse(response.body) else {
            throw S3Error(.invalidResponse, "the endpoint's answer is not XML: \(String(decoding: response.body.prefix(200), as: UTF8.self))", status: response.status, operation: operation)
        }
        return document
    }

    /// The request URL: `endpoint/bucket/key` (path style) or `bucket.endpoint/key` (virtual host),
    /// with the query in the canonical form curl signs as given.
    func url(bucket: String?, key: String?, query: [(String, String)]) -> String {
        let endpoint = configuration.endpoint
        var components = URLComponents()
        components.scheme = endpoint.scheme
        components.port = endpoint.port
        var path = ""
        switch (configuration.addressing, bucket) {
        case (.virtualHost, let bucket?):
            components.host = "\(bucket).\(endpoint.host ?? "")"
        case (_, let bucket):
            components.host = endpoint.host
            if let bucket { path = "/" + bucket }
        }
        if let key { path += "/" + key.split(separator: "/", omittingEmptySubsequences: false).map { PercentEncoding.component(String($0)) }.joined(separator: "/") }
        let base = (components.string ?? endpoint.absoluteString) + (path.isEmpty ? "/" : path)
        return query.isEmpty ? base : base + "?" + Self.canonicalQuery(query)
    }

    /// SigV4's canonical query string: pairs sorted by name then value, both percent-encoded with
    /// uppercase hex, `name=` even when the value is empty.
    static func canonicalQuery(_ pairs: [(String, String)]) -> String {
        pairs.map { (PercentEncoding.component($0.0), PercentEncoding.component($0.1)) }
            .sorted { ($0.0, $0.1) < ($1.0, $1.1) }
            .map { "\($0.0)=\($0.1)" }
            .joined(separator: "&")
    }

    /// An S3 `<Error>` answer, or the status alone for bodiless ones (HEAD).
    static func error(_ response: HTTPResponse, operation: String) -> S3Error {
        if let document = XMLElement.parse(response.body), document.name == "Error", let code = document.value("Code"), !code.isEmpty {
            return S3Error(S3Error.Code(rawValue: code), document.value("Message") ?? "", status: response.status, operation: operation)
        }
        let code: S3Error.Code =
            switch response.status {
            case 404: .noSuchBucket
            case 403: .accessDenied
            case 301: S3Error.Code(rawValue: "PermanentRedirect")
            default: S3Error.Code(rawValue: "HTTP\(response.status)")
            }
        let detail = String(decoding: response.body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return S3Error(code, detail.isEmpty ? "no error document in the answer" : detail, status: response.status, operation: operation)
    }

    static func transportError(_ error: any Error, _ configuration: S3Configuration, _ operation: String) -> S3Error {
        guard let error = error as? HTTPError else { return S3Error(.unreachable, "\(error)", operation: operation) }
        switch error.kind {
        case .unreachable:
            return S3Error(.unreachable, "cannot reach the S3 endpoint \(configuration): \(error.message); is it running, and is --s3-endpoint (BERTH_S3_ENDPOINT) right?", operation: operation)
        case .timeout: return S3Error(.timeout, "the S3 endpoint \(configuration) did not answer in time: \(error.message)", operation: operation)
        case .cancelled: return S3Error(.cancelled, "cancelled", operation: operation)
        case .transfer: return S3Error(.unreachable, "the connection to the S3 endpoint \(configuration) failed: \(error.message)", operation: operation)
        }
    }
}

/// One lifecycle rule as S3 stores it, reduced to what Berth writes; anything else a rule holds
/// (transitions, tag or size filters, dates) is noted in ``hasOtherSettings``.
public struct LifecycleRule: Sendable, Hashable {
    public var id: String
    public var enabled: Bool
    /// The key prefix the rule applies to; empty for the whole bucket.
    public var prefix: String
    public var expirationDays: Int?
    public var noncurrentVersionExpirationDays: Int?
    public var abortIncompleteUploadDays: Int?
    /// The rule holds settings Berth does not model.
    public var hasOtherSettings: Bool

    public init(
        id: String, enabled: Bool = true, prefix: String = "", expirationDays: Int? = nil,
        noncurrentVersionExpirationDays: Int? = nil, abortIncompleteUploadDays: Int? = nil, hasOtherSettings: Bool = false
    ) {
        self.id = id
        self.enabled = enabled
        self.prefix = prefix
        self.expirationDays = expirationDays
        self.noncurrentVersionExpirationDays = noncurrentVersionExpirationDays
        self.abortIncompleteUploadDays = abortIncompleteUploadDays
        self.hasOtherSettings = hasOtherSettings
    }

    init(_ rule: XMLElement) {
        let known: Set<String> = ["ID", "Status", "Filter", "Prefix", "Expiration", "NoncurrentVersionExpiration", "AbortIncompleteMultipartUpload"]
        var other = rule.children.contains { !known.contains($0.name) }
        let filter = rule.child("Filter")
        if let filter, filter.children.contains(where: { $0.name != "Prefix" }) { other = true }
        if let expiration = rule.child("Expiration"), expiration.children.contains(where: { $0.name != "Days" }) { other = true }
        if let noncurrent = rule.child("NoncurrentVersionExpiration"), noncurrent.children.contains(where: { $0.name != "NoncurrentDays" }) { other = true }
        self.init(
            id: rule.value("ID") ?? "",
            enabled: rule.value("Status") == "Enabled",
            prefix: filter?.value("Prefix") ?? rule.value("Prefix") ?? "",
            expirationDays: rule.value("Expiration", "Days").flatMap { Int($0) },
            noncurrentVersionExpirationDays: rule.value("NoncurrentVersionExpiration", "NoncurrentDays").flatMap { Int($0) },
            abortIncompleteUploadDays: rule.value("AbortIncompleteMultipartUpload", "DaysAfterInitiation").flatMap { Int($0) },
            hasOtherSettings: other
        )
    }

    func write(to xml: inout XMLWriter) {
        xml.element("Rule") { xml in
            xml.element("ID", id)
            xml.element("Filter") { $0.element("Prefix", prefix) }
            xml.element("Status", enabled ? "Enabled" : "Disabled")
            if let days = expirationDays { xml.element("Expiration") { $0.element("Days", String(days)) } }
            if let days = noncurrentVersionExpirationDays {
                xml.element("NoncurrentVersionExpiration") { $0.element("NoncurrentDays", String(days)) }
            }
            if let days = abortIncompleteUploadDays {
                xml.element("AbortIncompleteMultipartUpload") { $0.element("DaysAfterInitiation", String(days)) }
            }
        }
    }
}
