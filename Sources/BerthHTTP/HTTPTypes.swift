import Foundation

/// One HTTP request for ``CurlClient``.
public struct HTTPRequest: Sendable {
    public var method: String
    /// Absolute URL; with ``Connection/unixSocket`` the host part is ignored by the server.
    public var url: String
    /// Header lines in order; names are sent as given.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// Limit for the whole exchange; `nil` for streams that stay open.
    public var timeout: Duration?
    public var connection: Connection
    /// curl's built-in AWS Signature V4 signing (`aws:amz:REGION:SERVICE`, `key:secret`).
    public var awsSigV4: AWSSigning?

    public init(
        method: String,
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        timeout: Duration? = .seconds(60),
        connection: Connection = .tcp(tls: nil),
        awsSigV4: AWSSigning? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connection = connection
        self.awsSigV4 = awsSigV4
    }

    /// How the request reaches its server.
    public enum Connection: Sendable, Hashable {
        case unixSocket(path: String)
        case tcp(tls: TLSFiles?)
    }

    /// Client certificate, key and CA bundle for mutual TLS (Docker's `DOCKER_CERT_PATH`).
    public struct TLSFiles: Sendable, Hashable {
        public var certificate: String
        public var key: String
        public var certificateAuthority: String
        public var verifyPeer: Bool

        public init(certificate: String, key: String, certificateAuthority: String, verifyPeer: Bool) {
            self.certificate = certificate
            self.key = key
            self.certificateAuthority = certificateAuthority
            self.verifyPeer = verifyPeer
        }
    }

    /// Parameters of curl's SigV4 signing.
    public struct AWSSigning: Sendable, Hashable {
        /// `aws:amz:us-east-1:s3`
        public var provider: String
        public var accessKey: String
        public var secretKey: String

        public init(provider: String, accessKey: String, secretKey: String) {
            self.provider = provider
            self.accessKey = accessKey
            self.secretKey = secretKey
        }
    }
}

/// A complete response.
public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lowercased; a repeated header keeps its last value.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// A response whose body arrives in chunks as the server writes them (event streams, log follows).
public struct HTTPStreamResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    /// Ends when the server closes the response; ending the iteration cancels the transfer.
    public var body: AsyncThrowingStream<[UInt8], any Error>
}

/// What went wrong below HTTP: the connection, a timeout, or cancellation.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// The kinds of failure a caller treats differently.
    public enum Kind: Sendable, Hashable {
        /// The server could not be reached (refused, missing socket, DNS).
        case unreachable
        case timeout
        case cancelled
        /// Anything else libcurl reported.
        case transfer
    }

    public var kind: Kind
    /// libcurl's message, without credentials.
    public var message: String

    public init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// RFC 3986 percent-encoding for URL paths and queries, shared by Berth's HTTP clients.
public enum PercentEncoding {
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// Encodes everything but the unreserved characters (`A–Z a–z 0–9 - . _ ~`), with uppercase hex
    /// digits: `/` becomes `%2F`, a space `%20` (the form AWS Signature V4 signs).
    public static func component(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
