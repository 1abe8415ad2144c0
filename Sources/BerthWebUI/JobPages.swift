import BerthAPI
import BerthCore
import BerthStore
import Foundation

/// The filters of the jobs list as the form shows them (text as typed).
package struct JobFilterForm: Sendable {
    package var project: String?
    package var state: String?
    package var label: String?
    package var after: String?
    package var before: String?
    /// Where the page shown starts; nil for the first.
    package var cursor: String?

    package init(project: String? = nil, state: String? = nil, label: String? = nil, after: String? = nil, before: String? = nil, cursor: String? = nil) {
        self.cursor = cursor
        self.project = project
        self.state = state
        self.label = label
        self.after = after
        self.before = before
    }

    /// The list's query with `cursor` (the next page's link).
    func query(cursor: String?) -> String {
        Layout.query([("project", project), ("state", state), ("label", label), ("after", after), ("before", before), ("cursor", cursor)])
    }
}

/// `/ui/jobs`: a keyset page of jobs with the filter form.
package enum JobsPage {
    package static func render(_ page: Page<JobRecord>, filter: JobFilterForm, context: PageContext) -> HTML {
        var html = HTML(capacity: 400 * page.items.count + 4096)
        html += "<h1>Jobs</h1><form id=\"job-filter\" class=\"filter\" method=\"get\" action=\"/ui/jobs\">"
        html += "<label>Project <input name=\"project\" value=\"\(filter.project ?? "")\" size=\"12\"></label><label>State <select name=\"state\"><option value=\"\">any</option>"
        for state in JobState.allCases {
            let selected: HTML = filter.state == state.rawValue ? " selected" : ""
            html += "<option\(selected)>\(state.rawValue)</option>"
        }
        html += "</select></label><label>Label <input name=\"label\" value=\"\(filter.label ?? "")\" placeholder=\"key=value\" size=\"14\"></label>"
        html += "<label>Submitted after <input name=\"after\" value=\"\(filter.after ?? "")\" type=\"datetime-local\"></label>"
        html += "<label>Submitted before <input name=\"before\" value=\"\(filter.before ?? "")\" type=\"datetime-local\"></label><button type=\"submit\">Filter</button></form>"
        html +=
            "<div class=\"scroll\"><table id=\"jobs\"><thead><tr><th scope=\"col\">Job</th><th scope=\"col\">Name</th><th scope=\"col\">Project</th><th scope=\"col\">State</th><th scope=\"col\">Reason</th><th scope=\"col\">Submitted</th></tr></thead><tbody>"
        for job in page.items {
            html += "<tr data-job=\"\(job.id)\"><th scope=\"row\"><a href=\"/ui/jobs/\(job.id)\">\(job.id)</a></th><td class=\"name\">\(job.name)</td><td class=\"project\">\(job.project)</td>"
            html +=
                "<td class=\"state state-\(job.state.rawValue)\">\(job.state.rawValue)</td><td class=\"reason\">\(job.reason ?? "")</td><td>\(TimeText.element(job.submittedAt, now: context.now))</td></tr>"
        }
        html += "</tbody></table></div>"
        if page.items.isEmpty { html += "<p class=\"none\">No jobs match.</p>" }
        html += "<ul class=\"inline\" id=\"pages\">"
        if filter.cursor != nil { html += "<li><a id=\"first-page\" href=\"/ui/jobs\(filter.query(cursor: nil))\">First page</a></li>" }
        if let next = page.nextCursor { html += "<li><a id=\"next-page\" href=\"/ui/jobs\(filter.query(cursor: next))\" rel=\"next\">Next page</a></li>" }
        html += "</ul>"
        return Layout.page(title: "Jobs", section: .jobs, context: context, live: "/ui/live\(Layout.query([("project", filter.project)]))", body: html)
    }
}

/// `/ui/jobs/{id}`: state, timeline, attempts, exit code, output (followed live while the job
/// runs), feedback, and Cancel for a caller who may.
package enum JobPage {
    package static func render(_ job: JobRecord, events: [EventRecord], logs: JobLogsView, mayCancel: Bool, context: PageContext) -> HTML {
        var html = HTML(capacity: 8192 + logs.stdout.utf8.count + logs.stderr.utf8.count)
        html += "<h1>Job \(job.name) <span class=\"muted\">\(job.id)</span></h1><dl>"
        html += "<dt>State</dt><dd id=\"job-state\" class=\"state-\(job.state.rawValue)\">\(job.state.rawValue)</dd>"
        html += "<dt>Project</dt><dd>\(job.project)</dd><dt>Reason</dt><dd id=\"reason\">\(job.reason ?? "-")</dd>"
        html += "<dt>Attempts</dt><dd><span id=\"attempts\">\(job.attempt)</span> of at most \(job.spec.backoffLimit + 1)</dd>"
        html += "<dt>Exit code</dt><dd id=\"exit-code\">\(job.exitCode.map(String.init) ?? "-")</dd>"
        html += "<dt>Submitted</dt><dd>\(TimeText.element(job.submittedAt, now: context.now))</dd>"
        html += "<dt>Started</dt><dd>\(TimeText.element(job.startedAt, now: context.now))</dd>"
        html += "<dt>Finished</dt><dd>\(TimeText.element(job.finishedAt, now: context.now))</dd>"
        if !job.labels.isEmpty {
            html += "<dt>Labels</dt><dd id=\"labels\">"
            for (key, value) in job.labels.sorted(by: { $0.key < $1.key }) { html += "<code>\(key)=\(value)</code> " }
            html += "</dd>"
        }
        html += "</dl>"
        if mayCancel, !job.state.isTerminal {
            let label: HTML = job.cancelRequested ? "Cancel requested" : "Cancel job"
            html +=
                "<form id=\"cancel\" method=\"post\" action=\"/ui/jobs/\(job.id)/cancel\"><input type=\"hidden\" name=\"csrf\" value=\"\(context.csrf)\"><button id=\"cancel-button\" class=\"danger\" type=\"submit\">\(label)</button></form>"
        }
        html += "<h2>Timeline</h2><ol id=\"timeline\">"
        for event in events {
            html += "<li data-reason=\"\(event.reason)\">\(TimeText.element(event.time, now: context.now)) <strong>\(event.reason)</strong> \(event.message)</li>"
        }
        html += "</ol><h2>Output</h2>"
        let follow: HTML = job.state.isTerminal ? "" : " data-follow=\"/ui/jobs/\(job.id)/logs/live\""
        html += "<pre id=\"logs\" aria-live=\"off\"\(follow)>\(logs.stdout)\(logs.stderr.isEmpty || logs.stdout.isEmpty ? "" : "\n")\(logs.stderr)</pre>"
        if let feedback = job.feedback {
            html += "<h2>Feedback</h2><pre id=\"feedback\">\(prettyJSON(feedback))</pre>"
        }
        return Layout.page(title: "Job \(job.name)", section: .jobs, context: context, live: "/ui/live?job=\(job.id)", body: html)
    }

    /// JSON text indented with sorted keys; text that does not parse, as it is.
    static func prettyJSON(_ text: String) -> String {
        guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]),
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        else { return text }
        return String(decoding: data, as: UTF8.self)
    }
}
