/// The error every `BerthObjectStore` call throws: the S3 error code the endpoint answered with
/// (`NoSuchBucket`, `BucketNotEmpty`, `AccessDenied` …) and its message, or what went wrong before
/// an answer (configuration, connection, an unreadable response).
public struct S3Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// An S3 error code. S3 has dozens and endpoints add their own, so this is an open set: the
    /// constants are the codes Berth acts on; any other arrives with the endpoint's spelling.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let noSuchBucket = Code(rawValue: "NoSuchBucket")
        public static let noSuchKey = Code(rawValue: "NoSuchKey")
        public static let bucketAlreadyOwnedByYou = Code(rawValue: "BucketAlreadyOwnedByYou")
        public static let bucketAlreadyExists = Code(rawValue: "BucketAlreadyExists")
        public static let bucketNotEmpty = Code(rawValue: "BucketNotEmpty")
        public static let accessDenied = Code(rawValue: "AccessDenied")
        public static let signatureDoesNotMatch = Code(rawValue: "SignatureDoesNotMatch")
        public static let invalidAccessKeyId = Code(rawValue: "InvalidAccessKeyId")
        public static let noSuchTagSet = Code(rawValue: "NoSuchTagSet")
        public static let noSuchLifecycleConfiguration = Code(rawValue: "NoSuchLifecycleConfiguration")

        // Berth's own codes, for failures without an S3 answer.
        /// The settings are incomplete or invalid (no endpoint, no credentials, a bad URL).
        public static let configuration = Code(rawValue: "BerthConfiguration")
        /// The endpoint could not be reached, or the connection broke.
        public static let unreachable = Code(rawValue: "BerthUnreachable")
        public static let timeout = Code(rawValue: "BerthTimeout")
        public static let cancelled = Code(rawValue: "BerthCancelled")
        /// The endpoint answered with something Berth could not read.
        public static let invalidResponse = Code(rawValue: "BerthInvalidResponse")
    }

    public var code: Code
    /// The endpoint's message for S3 errors; Berth's, naming what to fix, for the others.
    public var message: String
    /// The HTTP status, when the endpoint answered.
    public var status: Int?
    /// What was attempted: `CreateBucket qfield-media`.
    public var operation: String?

    public init(_ code: Code, _ message: String, status: Int? = nil, operation: String? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.operation = operation
    }

    /// `CreateBucket qfield-media: BucketAlreadyExists (HTTP 409): The requested bucket name is not available.`
    public var description: String {
        let prefix = operation.map { "\($0): " } ?? ""
        guard let status else { return prefix + message }
        return "\(prefix)\(code) (HTTP \(status)): \(message)"
    }

    /// Settings that are missing or invalid; `message` names the setting.
    public static func configuration(_ message: String) -> S3Error {
        S3Error(.configuration, message)
    }
}
