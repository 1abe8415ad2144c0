import BerthCore
import BerthHTTP
import Foundation
import Testing
@testable import BerthObjectStore

/// The parts of the S3 client that need no server: canonical queries (moto's checks of them are
/// lax), XML reading and writing, error documents, addressing, credentials files.
@Suite("S3 wire format")
struct S3WireFormatTests {
    @Test func canonicalQuerySortsEncodesAndKeepsEmptyValues() {
        let query = S3Client.canonicalQuery([("versions", ""), ("max-keys", "1"), ("prefix", "a b/ü~*"), ("delete", "")])
        #expect(query == "delete=&max-keys=1&prefix=a%20b%2F%C3%BC~%2A&versions=")
    }

    @Test func urlsFollowTheAddressingStyle() throws {
        let credentials = S3Credentials(accessKey: "a", secretKey: "b")
        let path = S3Client(configuration: try S3Configuration(endpoint: "http://127.0.0.1:9000", credentials: credentials))
        #expect(path.url(bucket: "media", key: nil, query: [("tagging", "")]) == "http://127.0.0.1:9000/media?tagging=")
        #expect(path.url(bucket: nil, key: nil, query: []) == "http://127.0.0.1:9000/")
        #expect(path.url(bucket: "media", key: "a dir/x+y", query: []) == "http://127.0.0.1:9000/media/a%20dir/x%2By")
        let host = S3Client(configuration: try S3Configuration(endpoint: "https://s3.example.org", addressing: .virtualHost, credentials: credentials))
        #expect(host.url(bucket: "media", key: nil, query: [("versioning", "")]) == "https://media.s3.example.org/?versioning=")
    }

    @Test(arguments: ["127.0.0.1:9000", "ftp://host", "http://host/path", "http://user:pw@host", "http://"])
    func refusesEndpointsThatAreNotPlainURLs(endpoint: String) {
        #expect(throws: S3Error.self) { try S3Configuration(endpoint: endpoint, credentials: S3Credentials(accessKey: "a", secretKey: "b")) }
    }

    @Test func readsAnErrorDocumentWithItsCodeAndMessage() {
        let body = #"<?xml version="1.0" encoding="UTF-8"?><Error><Code>BucketNotEmpty</Code><Message>The bucket you tried to delete is not empty</Message><BucketName>x</BucketName></Error>"#
        let error = S3Client.error(HTTPResponse(status: 409, headers: [:], body: Array(body.utf8)), operation: "DeleteBucket x")
        #expect(error.code == .bucketNotEmpty)
        #expect(error.description == "DeleteBucket x: BucketNotEmpty (HTTP 409): The bucket you tried to delete is not empty")
        let head = S3Client.error(HTTPResponse(status: 404, headers: [:], body: []), operation: "HeadBucket x")
        #expect(head.code == .noSuchBucket)
    }

    @Test func readsRulesAndNotesWhatBerthDoesNotModel() throws {
        let body = """
            <LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Rule><ID>berth</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>
                <Expiration><Days>30</Days></Expiration>
                <NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays></NoncurrentVersionExpiration>
                <AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
              <Rule><ID>archive</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status>
                <Transition><Days>10</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>
            </LifecycleConfiguration>
            """
        let document = try #require(XMLElement.parse(Array(body.utf8)))
        let rules = document.all("Rule").map(LifecycleRule.init)
        #expect(rules[0] == LifecycleRule(id: "berth", expirationDays: 30, noncurrentVersionExpirationDays: 7, abortIncompleteUploadDays: 2))
        #expect(rules[1].prefix == "logs/")
        #expect(rules[1].hasOtherSettings)

        let (lifecycle, hasOther) = S3ObjectStorage.lifecycle(of: rules)
        #expect(lifecycle == BucketSpec.Lifecycle(expireDays: 30, noncurrentExpireDays: 7, abortIncompleteUploadsDays: 2))
        #expect(hasOther)
        #expect(S3ObjectStorage.lifecycle(of: [rules[0]]) == (lifecycle, false))
    }

    @Test func writtenRulesReadBackTheSame() throws {
        let rule = LifecycleRule(id: "berth", expirationDays: 5, abortIncompleteUploadDays: 1)
        var xml = XMLWriter()
        xml.element("LifecycleConfiguration", root: true) { rule.write(to: &$0) }
        let document = try #require(XMLElement.parse(xml.bytes))
        #expect(document.all("Rule").map(LifecycleRule.init) == [rule])
    }

    @Test func malformedXMLIsNotADocument() {
        #expect(XMLElement.parse(Array("<Error><Code>x</Error>".utf8)) == nil)
    }

    @Test func credentialsComeFromTheEnvironmentFirstThenTheFile() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("berth-credentials-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try """
        # comment
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = secret/default

        [other]
        aws_access_key_id=AKIDOTHER
        aws_secret_access_key=secret-other

        [temporary]
        aws_access_key_id = ASIATEMP
        aws_secret_access_key = secret-temp
        aws_session_token = token/temp==
        """.write(to: file, atomically: true, encoding: .utf8)

        let fromEnvironment = try S3Credentials.resolve(environment: ["AWS_ACCESS_KEY_ID": "E", "AWS_SECRET_ACCESS_KEY": "S"], file: file.path)
        #expect(fromEnvironment == S3Credentials(accessKey: "E", secretKey: "S"))
        #expect(try S3Credentials.resolve(environment: [:], file: file.path) == S3Credentials(accessKey: "AKIDDEFAULT", secretKey: "secret/default"))
        #expect(try S3Credentials.resolve(environment: ["AWS_PROFILE": "other", "AWS_SHARED_CREDENTIALS_FILE": file.path]) == S3Credentials(accessKey: "AKIDOTHER", secretKey: "secret-other"))
        #expect(try S3Credentials.resolve(environment: ["HOME": "/nonexistent"]) == nil)
        let temporary = try S3Credentials.resolve(environment: ["AWS_ACCESS_KEY_ID": "E", "AWS_SECRET_ACCESS_KEY": "S", "AWS_SESSION_TOKEN": "T"], file: file.path)
        #expect(temporary == S3Credentials(accessKey: "E", secretKey: "S", sessionToken: "T"))
        #expect(try S3Credentials.resolve(environment: ["AWS_PROFILE": "temporary"], file: file.path) == S3Credentials(accessKey: "ASIATEMP", secretKey: "secret-temp", sessionToken: "token/temp=="))
        let half = #expect(throws: S3Error.self) { try S3Credentials.resolve(environment: ["AWS_ACCESS_KEY_ID": "E"]) }
        #expect(half?.message.contains("AWS_SECRET_ACCESS_KEY") == true)
        let missing = #expect(throws: S3Error.self) { try S3Credentials.resolve(environment: ["AWS_PROFILE": "nope"], file: file.path) }
        #expect(missing?.message == "\(file.path): profile [nope] has no aws_access_key_id")
    }

    @Test func aMalformedCredentialsFileNamesTheLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("berth-credentials-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try "[default]\naws_access_key_id AKID\n".write(to: file, atomically: true, encoding: .utf8)
        let error = #expect(throws: S3Error.self) { try S3Credentials.fromFile(file.path, profile: "default") }
        #expect(error?.message == "\(file.path):2: expected key = value, found a line without \"=\"")
    }

    @Test func credentialsNeverPrintTheSecret() {
        let credentials = S3Credentials(accessKey: "AKIDEXAMPLE", secretKey: "very-secret", sessionToken: "secret-token")
        #expect(!"\(credentials)".contains("very-secret"))
        #expect(!"\(credentials)".contains("secret-token"))
    }
}
