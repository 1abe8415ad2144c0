import BerthAPI
import BerthController
import BerthCore
import BerthStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Issue 20's routes: job labels (stored, answered, filtered), concurrency keys in the answer,
/// a CronJob's run now, and the CronJobs in the status.
@Suite("Job labels, keys and cron run routes") struct JobQueueRouteTests {
    static func labelled(_ name: String, labels: String, extra: String = "") -> String {
        APIFixture.jobYAML(name, extra: extra).replacingOccurrences(of: "project: alpha}", with: "project: alpha, labels: {\(labels)}}")
    }

    @Test func labelsAreAnsweredAndFilterTheListing() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            // given
            let token = fixture.tokens["jobs"]
            let first = try await client.call(
                .post, "/v1/jobs", token: token,
                body: Self.labelled("deltas", labels: "type: apply-deltas, qfc: '42'", extra: "  concurrencyKey: qfc-42\n  maxConcurrentPerKey: 2"))
            _ = try await client.call(.post, "/v1/jobs", token: token, body: Self.labelled("deltas", labels: "type: apply-deltas, qfc: '43'"))
            _ = try await client.call(.post, "/v1/jobs", token: token, body: Self.labelled("export", labels: "type: export"))
            // then: the answer holds the labels and the key
            #expect(first.status == .created)
            let job = try first.decode(JobView.self)
            #expect(job.labels == ["type": "apply-deltas", "qfc": "42"])
            #expect(job.spec.concurrencyKey == "qfc-42" && job.spec.maxConcurrentPerKey == 2)
            // filters, one and two (both apply)
            func names(_ query: String) async throws -> [String] {
                try await client.call(.get, "/v1/jobs?order=oldestFirst&" + query, token: fixture.tokens["read"]).decode(ItemsView<JobView>.self).items.map(\.name)
            }
            #expect(try await names("label=type=apply-deltas") == ["deltas", "deltas"])
            #expect(try await names("label=type=apply-deltas&label=qfc=43").count == 1)
            #expect(try await names("label=type%3Dexport") == ["export"])
            #expect(try await names("label=type=none").isEmpty)
            // a bad filter: 400 naming the parameter
            for bad in ["label=type", "label==x"] {
                let answer = try await client.call(.get, "/v1/jobs?" + bad, token: fixture.tokens["read"])
                #expect(answer.status == .badRequest, "\(bad): \(answer.text)")
                #expect(try answer.error()["field"] as? String == "label", "\(answer.text)")
            }
            // a bad key in a job: 422 with the field
            let unkeyed = try await client.call(.post, "/v1/jobs", token: token, body: APIFixture.jobYAML("x", extra: "  maxConcurrentPerKey: 3"))
            #expect(unkeyed.status == .unprocessableContent, "\(unkeyed.text)")
            #expect(unkeyed.text.contains("maxConcurrentPerKey"), "\(unkeyed.text)")
        }
        await fixture.finish()
    }

    static let cronYAML = """
        apiVersion: berth/v1
        kind: CronJob
        metadata: {name: nightly, project: alpha}
        spec:
          schedule: "0 3 * * *"
          jobTemplate:
            image: localhost/berth-busybox:latest
            pullPolicy: Never
            network: none
            command: ["sleep", "300"]
        """

    @Test func runNowStartsAnIdleCronJobAndForbidRefusesWhileItRuns() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            // given
            let put = try await client.call(.put, "/v1/resources/cronjob/alpha/nightly", token: fixture.tokens["admin"], body: Self.cronYAML)
            #expect(put.status == .created, "\(put.text)")
            // when: run now, then again while the first is active (pending counts)
            let first = try await client.call(.post, "/v1/cronjobs/alpha/nightly/run", token: fixture.tokens["jobs-alpha"])
            let second = try await client.call(.post, "/v1/cronjobs/alpha/nightly/run", token: fixture.tokens["jobs-alpha"])
            // then
            #expect(first.status == .created, "\(first.text)")
            let job = try first.decode(JobView.self)
            #expect(job.owner == ResourceID(kind: .cronJob, project: "alpha", name: "nightly") && job.state == .pending)
            #expect(second.status == .conflict, "\(second.text)")
            #expect(second.errorMessage().contains("still active and its concurrencyPolicy is Forbid"), "\(second.text)")
            // a reader may not, nor a writer of another project; an unknown one is 404
            #expect(try await client.call(.post, "/v1/cronjobs/alpha/nightly/run", token: fixture.tokens["read"]).status == .forbidden)
            #expect(try await client.call(.post, "/v1/cronjobs/alpha/missing/run", token: fixture.tokens["jobs"]).status == .notFound)
            // the status shows the CronJob's last run and next fire time
            let status = try await client.call(.get, "/v1/status", token: fixture.tokens["read"]).decode(StatusListView.self)
            let cron = try #require(status.cronJobs.first { $0.cronJob.name == "nightly" })
            #expect(cron.lastRun?.jobID == job.id && cron.lastRun?.state == .pending && cron.activeJobs == 1)
            #expect(cron.lastScheduleTime == nil, "a run now has no scheduled time")
            let next = try #require(cron.nextFireTime)
            #expect(next > Date() && next < Date().addingTimeInterval(86_401))
            #expect(cron.schedule == "0 3 * * *" && cron.concurrencyPolicy == .forbid)
            // once the run ended, run now starts another
            _ = try await fixture.store.requestCancel(job.id, now: Date())
            let third = try await client.call(.post, "/v1/cronjobs/alpha/nightly/run", token: fixture.tokens["jobs"])
            #expect(third.status == .created, "\(third.text)")
            #expect(try third.decode(JobView.self).id != job.id)
        }
        await fixture.finish()
    }
}
