import BerthHTTP
import BerthObjectStore
import Foundation
import Testing

/// moto's S3 server that scripts/test started; a test that needs it fails (never skips) without it.
enum MotoServer {
    static func value(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw SetupError("\(name) is not set: run the tests through scripts/test, which starts moto's S3 server")
        }
        return value
    }

    static var endpoint: String { get throws { try value("BERTH_TEST_S3_ENDPOINT") } }

    static func credentials(denied: Bool = false) throws -> S3Credentials {
        let prefix = denied ? "BERTH_TEST_S3_DENIED_" : "BERTH_TEST_S3_"
        return S3Credentials(accessKey: try value(prefix + "ACCESS_KEY"), secretKey: try value(prefix + "SECRET_KEY"))
    }

    /// Temporary credentials of a role with every permission, with their session token.
    static func sessionCredentials() throws -> S3Credentials {
        S3Credentials(
            accessKey: try value("BERTH_TEST_S3_SESSION_ACCESS_KEY"), secretKey: try value("BERTH_TEST_S3_SESSION_SECRET_KEY"),
            sessionToken: try value("BERTH_TEST_S3_SESSION_TOKEN")
        )
    }

    static func client(region: String = "us-east-1", addressing: S3Configuration.Addressing = .path, credentials: S3Credentials? = nil) throws -> S3Client {
        S3Client(configuration: try S3Configuration(endpoint: try endpoint, region: region, addressing: addressing, credentials: credentials ?? self.credentials()))
    }

    /// A bucket name no other test uses: `t-<prefix>-<random>`.
    static func bucketName(_ prefix: String) -> String {
        "t-\(prefix)-" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
    }

    /// Runs `body` with a bucket name no other test uses (the bucket created first unless `create`
    /// is false), and deletes that bucket with everything in it afterwards, also when `body` fails.
    static func withBucket(_ prefix: String, create: Bool = true, _ body: (String) async throws -> Void) async throws {
        let name = bucketName(prefix)
        if create { try await client().createBucket(name) }
        do {
            try await body(name)
        } catch {
            await removeBucket(name)
            throw error
        }
        await removeBucket(name)
    }

    /// Deletes the bucket with everything in it; for cleanup, so failures are ignored.
    static func removeBucket(_ name: String) async {
        guard let client = try? client() else { return }
        try? await client.deleteAllObjects(name)
        try? await client.deleteBucket(name)
    }
}

struct SetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
