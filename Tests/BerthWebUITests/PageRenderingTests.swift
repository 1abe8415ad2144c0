import BerthAPI
import BerthCore
import BerthStore
import BerthWebUI
import Foundation
import Testing

/// The pure renderings the benchmarks time: every row is there, and text is escaped.
@Suite("Web UI page rendering")
struct PageRenderingTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func theOverviewOfAThousandServicesHasEveryRow() {
        // given
        let statuses = (0..<1000).map { index in
            ResourceStatus(
                id: ResourceID(kind: .service, project: "p\(index % 10)", name: "web-\(index)"), phase: index.isMultiple(of: 7) ? .progressing : .ready,
                restartCount: index % 3, readyReplicas: 1, desiredReplicas: 1, lastAction: "createContainer web-\(index)-0", lastCause: "missing", updatedAt: Self.now
            )
        }
        // when
        let html = PageRendering.overview(StatusListView(items: statuses), now: Self.now)
        // then
        #expect(html.matches(of: /<tr data-resource="service\//).count == 1000)
        #expect(html.contains("<tr data-resource=\"service/p9/web-999\">") && html.contains("Ready: 857") && html.contains("Progressing: 143"))
    }

    @Test func aJobsPageLinksTheNextPageAndEscapesLabels() throws {
        // given
        let spec = JobSpec(container: ContainerSpec(image: try ImageReference(parsing: "example/worker:3"), command: ["true"]))
        let jobs = (0..<50).map { index in
            JobRecord(
                id: "job-\(index)", project: "alpha", name: "<b>report</b>", spec: spec, specJSON: "{}", priority: 0, idempotencyKey: nil, owner: nil,
                state: .finished, attempt: 1, claimedBy: nil, leaseExpiresAt: nil, containerID: nil, exitCode: 0, reason: "Completed", stdoutTail: nil,
                stderrTail: nil, feedback: nil, cancelRequested: false, submittedAt: Self.now.addingTimeInterval(-Double(index) * 60), queuedAt: nil,
                startedAt: nil, finishedAt: nil, nextAttemptAt: nil
            )
        }
        // when
        let html = PageRendering.jobs(Page(items: jobs, nextCursor: "c/1"), project: "alpha", now: Self.now)
        // then
        #expect(html.matches(of: /<tr data-job=/).count == 50)
        #expect(html.contains("<a id=\"next-page\" href=\"/ui/jobs?project=alpha&amp;cursor=c%2F1\""))
        #expect(!html.contains("<b>report</b>") && html.contains("&lt;b&gt;report&lt;/b&gt;"))
        #expect(html.contains("title=\"2027-01-15 08:00:00 UTC\">just now</time>"))
    }
}
