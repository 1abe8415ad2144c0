import ArgumentParser
import BerthObjectStore
import Foundation

/// The S3 endpoint buckets are converged on (`plan`, `apply`, `serve`): `--s3-…` flags, else
/// `BERTH_S3_…` variables; credentials from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (and
/// `AWS_SESSION_TOKEN`) or a file.
struct ObjectStorageOptions: ParsableArguments {
    @Option(help: "The S3 endpoint buckets are converged on, e.g. http://127.0.0.1:9000. Default: $BERTH_S3_ENDPOINT, else none (buckets then fail with a status saying so).")
    var s3Endpoint: String?

    @Option(help: "The S3 region requests are signed for and buckets created in. Default: $BERTH_S3_REGION, else us-east-1.")
    var s3Region: String?

    @Option(help: "How buckets appear in URLs: path (endpoint/bucket) or virtual-host (bucket.endpoint). Default: $BERTH_S3_ADDRESSING, else path.")
    var s3Addressing: S3Configuration.Addressing?

    @Option(
        help:
            "An AWS shared credentials file, read when AWS_ACCESS_KEY_ID is not set (profile $AWS_PROFILE, else default). Default: $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials when it exists."
    )
    var s3CredentialsFile: String?

    private var environment: [String: String] { Settings.environment }

    /// The object storage the flags and environment name, or `nil` when no endpoint is set; an
    /// endpoint without credentials, or any invalid setting, fails at once naming the setting.
    func open() throws -> S3ObjectStorage? {
        guard let endpoint = Settings.value(s3Endpoint, "BERTH_S3_ENDPOINT") else { return nil }
        do throws(S3Error) {
            let addressing: S3Configuration.Addressing
            if let s3Addressing {
                addressing = s3Addressing
            } else if let text = Settings.value(nil, "BERTH_S3_ADDRESSING") {
                guard let parsed = S3Configuration.Addressing(rawValue: text) else {
                    throw .configuration("BERTH_S3_ADDRESSING is \"\(text)\"; expected path or virtual-host")
                }
                addressing = parsed
            } else {
                addressing = .path
            }
            guard let credentials = try S3Credentials.resolve(environment: environment, file: s3CredentialsFile) else {
                throw .configuration("the S3 endpoint \(endpoint) is set but no credentials are: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give --s3-credentials-file")
            }
            let configuration = try S3Configuration(
                endpoint: endpoint, region: Settings.value(s3Region, "BERTH_S3_REGION") ?? S3Configuration.defaultRegion,
                addressing: addressing, credentials: credentials
            )
            return S3ObjectStorage(client: S3Client(configuration: configuration))
        } catch {
            throw CommandFailure(error.message)
        }
    }
}

extension S3Configuration.Addressing: ExpressibleByArgument {}
