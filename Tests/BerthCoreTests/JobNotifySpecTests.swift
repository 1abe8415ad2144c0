import Foundation
import Testing
@testable import BerthCore

/// `notify` and `logArchive` of a Job, and `logArchive` of a Project, as documents write them.
@Suite struct JobNotifySpecTests {
    private func spec(_ fields: String) throws(ValidationError) -> JobSpec {
        try JobSpec(json: #"{"image": "example/worker:1", \#(fields)}"#)
    }

    /// The paths of the issues reading `fields` reports; empty when it reads.
    private func issues(_ fields: String) -> [String] {
        do {
            _ = try spec(fields)
            return []
        } catch {
            return error.issues.map(\.path)
        }
    }

    @Test func readsAWebhookWithEveryEventByDefaultAndEncodesItBack() throws {
        let job = try spec(#""notify": {"url": "https://App.example.com/hook?x=1", "secretFile": "/srv/shop/hook.key"}"#)
        #expect(job.notify == JobNotifySpec(url: "https://App.example.com/hook?x=1", secretFile: "/srv/shop/hook.key", events: [.finished, .failed, .cancelled]))
        #expect(job.notify?.hostPort == "app.example.com:443")
        let encoded = String(decoding: try JSONEncoder().encode(job), as: UTF8.self)
        #expect(try JobSpec(json: encoded) == job)
        let some = try spec(#""notify": {"url": "http://10.0.0.5:8080/", "secretFile": "/k", "events": ["cancelled", "failed"]}"#)
        #expect(some.notify?.events == [.failed, .cancelled] && some.notify?.hostPort == "10.0.0.5:8080")
    }

    @Test(arguments: [
        (#""notify": {"url": "ftp://example.com/x", "secretFile": "/k"}"#, "spec.notify.url"),
        (#""notify": {"url": "https://user:pass@example.com/", "secretFile": "/k"}"#, "spec.notify.url"),
        (#""notify": {"url": "/relative", "secretFile": "/k"}"#, "spec.notify.url"),
        (#""notify": {"url": "https://example.com/", "secretFile": "relative/key"}"#, "spec.notify.secretFile"),
        (#""notify": {"url": "https://example.com/"}"#, "spec.notify.secretFile"),
        (#""notify": {"url": "https://example.com/", "secretFile": "/k", "events": []}"#, "spec.notify.events"),
        (#""notify": {"url": "https://example.com/", "secretFile": "/k", "events": ["started"]}"#, "spec.notify.events[0]"),
        (#""notify": {"url": "https://example.com/", "secretFile": "/k", "retries": 3}"#, "spec.notify.retries"),
        (#""logArchive": {"bucket": "Not_A_Bucket"}"#, "spec.logArchive.bucket"),
        (#""logArchive": {"bucket": "logs", "prefix": "/abs/"}"#, "spec.logArchive.prefix"),
        (#""logArchive": {"prefix": "runs/"}"#, "spec.logArchive.bucket"),
    ])
    func refusesWithTheFieldPath(_ fields: String, _ path: String) {
        #expect(issues(fields) == [path], "\(fields)")
    }

    @Test func archiveKeysSitUnderThePrefixPerAttemptAndStream() throws {
        let job = try spec(#""logArchive": {"bucket": "shop-logs", "prefix": "runs/"}"#)
        #expect(job.logArchive?.key(jobID: "01J", attempt: 2, stream: "stderr") == "runs/01J/2/stderr.gz")
        let bare = try spec(#""logArchive": {"bucket": "shop-logs"}"#)
        #expect(bare.logArchive?.key(jobID: "01J", attempt: 1, stream: "stdout") == "01J/1/stdout.gz")
    }

    @Test func aProjectGivesItsJobsAnArchiveAndItsPolicyWebhookHosts() throws {
        let document = try Resource(
            json: #"{"apiVersion": "berth/v1", "kind": "Project", "metadata": {"name": "shop"}, "spec": {"logArchive": {"bucket": "shop-logs"}, "policy": {"webhookHosts": ["App.Example.com:443"]}}}"#
        )
        guard case .project(let project) = document.spec else { throw ValidationError("not a project") }
        #expect(project.logArchive == LogArchiveSpec(bucket: "shop-logs"))
        #expect(project.policy?.webhookHosts == ["app.example.com:443"])
        #expect(throws: ValidationError.self) {
            try Resource(json: #"{"apiVersion": "berth/v1", "kind": "Project", "metadata": {"name": "shop"}, "spec": {"policy": {"webhookHosts": ["example.com"]}}}"#)
        }
    }
}
