import BerthAPI
import BerthStore
import Foundation

/// The heaviest pages rendered without a request, exactly as their routes render them: for the
/// render-time benchmarks (1,000 services; a jobs page out of 100,000 stored jobs).
public enum PageRendering {
    /// The overview of `status` (what `GET /v1/status` answers) as the document's text.
    public static func overview(_ status: StatusListView, project: String? = nil, csrf: String = "benchmark", now: Date = Date()) -> String {
        OverviewPage.render(status, project: project, context: PageContext(csrf: csrf, now: now)).text
    }

    /// One page of the jobs list (`JobQueue.jobs(filter:page:)`, 50 a page in the UI) as the document's text.
    public static func jobs(_ page: Page<JobRecord>, project: String? = nil, csrf: String = "benchmark", now: Date = Date()) -> String {
        JobsPage.render(page, filter: JobFilterForm(project: project), context: PageContext(csrf: csrf, now: now)).text
    }
}
