import Foundation

/// Where the S3 endpoint is and how to talk to it. Build it from settings with
/// ``init(endpoint:region:addressing:credentials:)``; everything is checked there.
public struct S3Configuration: Sendable, Hashable, CustomStringConvertible {
    /// How a bucket appears in request URLs.
    public enum Addressing: String, Sendable, Hashable, CaseIterable {
        /// `http://endpoint/bucket/key`: MinIO, Ceph, moto and most self-hosted endpoints.
        case path
        /// `https://bucket.endpoint/key`: AWS's preferred form; the bucket name must be a DNS label.
        case virtualHost = "virtual-host"
    }

    /// `http://127.0.0.1:9000` or `https://s3.eu-west-1.amazonaws.com`, without a path.
    public let endpoint: URL
    /// Signing region, and the region buckets are created in.
    public let region: String
    public let addressing: Addressing
    public let credentials: S3Credentials

    /// The region when none is configured (AWS's default, and what MinIO expects).
    public static let defaultRegion = "us-east-1"

    public init(endpoint: String, region: String = S3Configuration.defaultRegion, addressing: Addressing = .path, credentials: S3Credentials) throws(S3Error) {
        guard let url = URL(string: endpoint), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            throw .configuration("the S3 endpoint \"\(endpoint)\" is not an http:// or https:// URL with a host")
        }
        guard url.path.isEmpty || url.path == "/", url.query == nil, url.user == nil else {
            throw .configuration("the S3 endpoint \"\(endpoint)\" must be scheme://host[:port] only, without path, query or credentials")
        }
        let regionPattern = region.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }
        guard !region.isEmpty, regionPattern else {
            throw .configuration("the S3 region \"\(region)\" is not a region name (letters, digits and hyphens, e.g. eu-west-1)")
        }
        self.endpoint = url
        self.region = region
        self.addressing = addressing
        self.credentials = credentials
    }

    /// The endpoint without credentials, for messages and logs.
    public var description: String { "\(endpoint.absoluteString.trimmingSuffix("/")) (region \(region), \(addressing.rawValue) addressing)" }
}

/// An access key pair for SigV4 signing, with the session token of temporary credentials (STS,
/// an assumed role, SSO); never printed.
public struct S3Credentials: Sendable, Hashable, CustomStringConvertible {
    public let accessKey: String
    public let secretKey: String
    /// Sent as `x-amz-security-token` on every request (and signed) when set.
    public let sessionToken: String?

    public init(accessKey: String, secretKey: String, sessionToken: String? = nil) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken
    }

    public var description: String { "S3Credentials(accessKey: \(accessKey.prefix(4))…)" }

    /// The credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`
    /// (optional), else from the shared credentials file (`file`, else `AWS_SHARED_CREDENTIALS_FILE`,
    /// else `~/.aws/credentials` when it exists) under the profile `AWS_PROFILE` (default
    /// `default`). `nil` when none is set.
    public static func resolve(environment: [String: String], file: String? = nil) throws(S3Error) -> S3Credentials? {
        let key = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (key, secret) {
        case let (key?, secret?):
            return S3Credentials(accessKey: key, secretKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        case (.some, nil): throw .configuration("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not; set both")
        case (nil, .some): throw .configuration("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not; set both")
        case (nil, nil): break
        }
        let profile = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        if let path = file ?? environment["AWS_SHARED_CREDENTIALS_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            return try fromFile(path, profile: profile)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let standard = home + "/.aws/credentials"
        guard FileManager.default.fileExists(atPath: standard) else { return nil }
        return try fromFile(standard, profile: profile)
    }

    /// Reads `aws_access_key_id`, `aws_secret_access_key` and `aws_session_token` (optional) of
    /// `[profile]` from an AWS shared credentials file (INI: `[section]`, `key = value`, `#` and `;`
    /// comments).
    public static func fromFile(_ path: String, profile: String) throws(S3Error) -> S3Credentials {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .configuration("cannot read the S3 credentials file \(path): \(error.localizedDescription)")
        }
        var section: String?
        var values: [String: String] = [:]
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else {
                    throw .configuration("\(path):\(index + 1): expected a section header like [default], found \"\(line)\"")
                }
                section = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw .configuration("\(path):\(index + 1): expected key = value, found a line without \"=\"")
            }
            guard section == profile else { continue }
            let name = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            values[name] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        guard let key = values["aws_access_key_id"], !key.isEmpty else {
            throw .configuration("\(path): profile [\(profile)] has no aws_access_key_id")
        }
        guard let secret = values["aws_secret_access_key"], !secret.isEmpty else {
            throw .configuration("\(path): profile [\(profile)] has no aws_secret_access_key")
        }
        return S3Credentials(accessKey: key, secretKey: secret, sessionToken: values["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 })
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
