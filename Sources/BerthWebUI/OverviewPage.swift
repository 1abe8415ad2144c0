import BerthAPI
import BerthController
import BerthCore
import BerthStore
import Foundation

/// `/ui/`: the projects, every service, volume, bucket, certificate and cron job with its phase,
/// the counts by phase, and the git source's revision.
package enum OverviewPage {
    /// The whole document for `status` (``ControlRoutes/statusList``), `project` the filter shown.
    package static func render(_ status: StatusListView, project: String?, context: PageContext) -> HTML {
        var html = HTML(capacity: 512 * status.items.count + 4096)
        html += "<h1>Overview"
        if let project { html += " of project \(project)" }
        html += "</h1>"
        if let source = status.source {
            html += "<p id=\"source\">Source \(source.url)"
            if let ref = source.ref { html += " (\(ref))" }
            if let revision = source.appliedRevision {
                html += ": <code>\(String(revision.sha.prefix(7)))</code> \(revision.subject)"
            } else {
                html += ": \(source.applied ?? "none applied yet")"
            }
            if source.stalled { html += " <strong>stalled</strong>" }
            html += "</p>"
        }
        var projects = Set(status.items.map(\.id.project))
        for cron in status.cronJobs { projects.insert(cron.cronJob.project) }
        html += "<nav id=\"projects\" aria-label=\"Projects\"><ul class=\"inline\">"
        if project != nil { html += "<li><a href=\"/ui/\">all projects</a></li>" }
        for name in projects.sorted() {
            let current: HTML = name == project ? " aria-current=\"page\"" : ""
            html += "<li><a href=\"/ui/?project=\(name)\"\(current)>\(name)</a></li>"
        }
        html += "</ul></nav>"
        var counts: [String: Int] = [:]
        for item in status.items { counts[item.phase.rawValue, default: 0] += 1 }
        html += "<ul id=\"phase-counts\" aria-label=\"Resources by phase\">"
        for (phase, count) in counts.sorted(by: { $0.key < $1.key }) {
            html += "<li class=\"phase-\(phase)\" data-phase=\"\(phase)\">\(phase): \(count)</li>"
        }
        html += "</ul>"
        var byKind: [ResourceKind: [ResourceStatus]] = [:]
        for item in status.items { byKind[item.id.kind, default: []].append(item) }
        html +=
            "<h2 id=\"services-heading\">Services</h2><div class=\"scroll\"><table id=\"services\" aria-labelledby=\"services-heading\"><thead><tr><th scope=\"col\">Service</th><th scope=\"col\">Project</th><th scope=\"col\">Phase</th><th scope=\"col\">Ready</th><th scope=\"col\">Restarts</th><th scope=\"col\">Last action</th><th scope=\"col\">Conditions</th></tr></thead><tbody>"
        for item in byKind[.service] ?? [] {
            let id = item.id
            html += "<tr data-resource=\"service/\(id.project)/\(id.name)\"><th scope=\"row\"><a href=\"/ui/services/\(id.project)/\(id.name)\">\(id.name)</a></th><td>\(id.project)</td>"
            html +=
                "<td class=\"phase phase-\(item.phase.rawValue)\">\(item.phase.rawValue)</td><td class=\"replicas\">\(item.readyReplicas ?? 0)/\(item.desiredReplicas ?? 0)</td><td class=\"restarts\">\(item.restartCount)</td>"
            html += "<td class=\"last-action\">\(lastAction(item))</td><td class=\"conditions\">\(conditions(item))</td></tr>"
        }
        html += "</tbody></table></div>"
        if byKind[.service] == nil { html += "<p class=\"none\">No services.</p>" }
        for (kind, tableID, title) in [(ResourceKind.volume, "volumes", "Volumes"), (.bucket, "buckets", "Buckets"), (.certificate, "certificates", "Certificates")] {
            html +=
                "<h2 id=\"\(tableID)-heading\">\(title)</h2><div class=\"scroll\"><table id=\"\(tableID)\" aria-labelledby=\"\(tableID)-heading\"><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Project</th><th scope=\"col\">Phase</th><th scope=\"col\">Last action</th><th scope=\"col\">Conditions</th></tr></thead><tbody>"
            for item in byKind[kind] ?? [] {
                html +=
                    "<tr data-resource=\"\(Layout.slug(item.id))\"><th scope=\"row\">\(item.id.name)</th><td>\(item.id.project)</td><td class=\"phase phase-\(item.phase.rawValue)\">\(item.phase.rawValue)</td>"
                html += "<td class=\"last-action\">\(lastAction(item))</td><td class=\"conditions\">\(conditions(item))</td></tr>"
            }
            html += "</tbody></table></div>"
            if byKind[kind] == nil { html += "<p class=\"none\">None.</p>" }
        }
        let cronPhases = Dictionary((byKind[.cronJob] ?? []).map { ($0.id, $0.phase.rawValue) }, uniquingKeysWith: { first, _ in first })
        html +=
            "<h2 id=\"cronjobs-heading\">Cron jobs</h2><div class=\"scroll\"><table id=\"cronjobs\" aria-labelledby=\"cronjobs-heading\"><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Project</th><th scope=\"col\">Phase</th><th scope=\"col\">Schedule</th><th scope=\"col\">Last run</th><th scope=\"col\">Next run</th></tr></thead><tbody>"
        for cron in status.cronJobs {
            let id = cron.cronJob
            let phase = cronPhases[id] ?? (cron.suspend ? "Suspended" : "Scheduled")
            html +=
                "<tr data-resource=\"cronjob/\(id.project)/\(id.name)\"><th scope=\"row\">\(id.name)</th><td>\(id.project)</td><td class=\"phase phase-\(phase)\">\(phase)</td><td class=\"schedule\">\(cron.schedule)</td>"
            html += "<td class=\"last-run\">\(CronJobsPage.lastRun(cron, now: context.now))</td><td class=\"next-run\">\(TimeText.element(cron.nextFireTime, now: context.now))</td></tr>"
        }
        html += "</tbody></table></div>"
        if status.cronJobs.isEmpty { html += "<p class=\"none\">None.</p>" }
        return Layout.page(title: "Overview", section: .overview, context: context, live: "/ui/live\(Layout.query([("project", project)]))", body: html)
    }

    /// `createContainer web-0 (missing)`.
    static func lastAction(_ item: ResourceStatus) -> HTML {
        guard let action = item.lastAction else { return "<span class=\"muted\">-</span>" }
        guard let cause = item.lastCause else { return "\(action)" }
        return "\(action) <span class=\"cause\">(\(cause))</span>"
    }

    /// `Ready: Converged`, each condition with its message as a tooltip.
    static func conditions(_ item: ResourceStatus) -> HTML {
        var html = HTML()
        for (index, condition) in item.conditions.enumerated() {
            if index > 0 { html += ", " }
            html += "<span title=\"\(condition.message)\">\(condition.type.rawValue)=\(condition.status.rawValue) \(condition.reason)</span>"
        }
        return html
    }
}
