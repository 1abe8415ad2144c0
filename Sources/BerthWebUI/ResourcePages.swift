import BerthController
import BerthCore
import BerthStore
import Foundation

/// `/ui/services/{project}/{name}`: replicas and how to reach them, recent events, and what the
/// current plan would do to the service, with causes.
package enum ServicePage {
    /// `plan` is the service's planned actions, or why the plan could not be made.
    package static func render(
        _ id: ResourceID, spec: ServiceSpec?, status: ResourceStatus?, events: [EventRecord], plan: Result<[Action], PlanUnavailable>, context: PageContext
    ) -> HTML {
        var html = HTML(capacity: 8192)
        html += "<h1>\(id.name)</h1><p>Service in project \(id.project)"
        if let status {
            html +=
                ": <span class=\"phase phase-\(status.phase.rawValue)\" id=\"phase\">\(status.phase.rawValue)</span>, \(status.readyReplicas ?? 0)/\(status.desiredReplicas ?? 0) ready, last action \(OverviewPage.lastAction(status))"
        }
        html += "</p>"
        let image = spec.map { "\($0.container.image)" } ?? ""
        html +=
            "<h2>Replicas</h2><div class=\"scroll\"><table id=\"replicas\"><thead><tr><th scope=\"col\">Replica</th><th scope=\"col\">Container</th><th scope=\"col\">Image</th><th scope=\"col\">Networks</th><th scope=\"col\">Ports</th><th scope=\"col\">Health</th><th scope=\"col\">Restarts</th>"
        // On several nodes, where each replica runs.
        let onNodes = (status?.replicas ?? []).contains { $0.node != nil }
        if onNodes { html += "<th scope=\"col\">Node</th>" }
        html += "</tr></thead><tbody>"
        for (position, replica) in (status?.replicas ?? []).enumerated() {
            let index = replica.replica ?? position
            html +=
                "<tr data-replica=\"\(index)\"><th scope=\"row\">\(index)</th><td class=\"container-id\">\(replica.container)"
            if let containerID = replica.containerID { html += " <code title=\"\(containerID)\">\(String(containerID.prefix(12)))</code>" }
            html += "</td><td class=\"image\">\(image)"
            if let imageID = replica.imageID { html += " <code class=\"image-id\" title=\"\(imageID)\">\(Self.shortImageID(imageID))</code>" }
            html += "</td><td class=\"networks\">"
            for endpoint in replica.networks {
                html += "<div>\(endpoint.network)"
                if let address = endpoint.ipv4Address { html += " \(address)" }
                if let address = endpoint.ipv6Address { html += " \(address)" }
                html += "</div>"
            }
            html +=
                "</td><td class=\"ports\">\(replica.ports.map(\.description).joined(separator: ", "))</td><td class=\"health\">\(replica.state)</td><td class=\"restarts\">\(status?.restartCount ?? 0)</td>"
            if onNodes { html += "<td class=\"node\">\(replica.node ?? "")</td>" }
            html += "</tr>"
        }
        html += "</tbody></table></div>"
        if let status, !status.conditions.isEmpty { html += "<p id=\"conditions\">\(OverviewPage.conditions(status))</p>" }
        html += "<h2>Planned actions</h2><div id=\"plan-actions\">"
        switch plan {
        case .success(let actions) where actions.isEmpty: html += "<p class=\"none\">Nothing planned: the service matches its desired state.</p>"
        case .success(let actions):
            html += "<ul>"
            for action in actions { html += PlanPage.item(action) }
            html += "</ul>"
        case .failure(let problem): html += "<p class=\"none\">The plan cannot be made now: \(problem.message)</p>"
        }
        html += "</div><h2>Recent events</h2><ul id=\"events\">"
        for event in events {
            html += "<li data-reason=\"\(event.reason)\">\(TimeText.element(event.time, now: context.now)) <strong>\(event.reason)</strong> \(event.message)</li>"
        }
        html += "</ul>"
        if events.isEmpty { html += "<p class=\"none\">No events.</p>" }
        return Layout.page(title: id.name, section: .overview, context: context, live: "/ui/live?project=\(id.project)", body: html)
    }

    /// `sha256:4c1e2f9a0b3d`: the digest's first 12 hex digits, as `docker images` shows ids.
    static func shortImageID(_ imageID: String) -> String {
        guard let colon = imageID.firstIndex(of: ":") else { return String(imageID.prefix(12)) }
        return String(imageID[...colon]) + String(imageID[imageID.index(after: colon)...].prefix(12))
    }
}

/// Why a plan could not be made (the engine or the desired state unreadable).
package struct PlanUnavailable: Error, Sendable {
    package var message: String
    package init(_ message: String) { self.message = message }
}

/// `/ui/plan`: what `berth plan` would do now, grouped by project, each action with its cause.
package enum PlanPage {
    package static func render(_ plan: Result<Plan, PlanUnavailable>, project: String?, context: PageContext) -> HTML {
        var html = HTML(capacity: 8192)
        html += "<h1>Plan</h1><div id=\"plan\">"
        switch plan {
        case .failure(let problem):
            html += "<p class=\"error\" role=\"alert\">The plan cannot be made now: \(problem.message)</p>"
        case .success(let plan):
            var byProject: [String: [Action]] = [:]
            for action in plan.actions where project == nil || action.resource.project == project {
                byProject[action.resource.project, default: []].append(action)
            }
            if byProject.isEmpty { html += "<p class=\"none\">No changes. The world matches the desired state.</p>" }
            for (name, actions) in byProject.sorted(by: { $0.key < $1.key }) {
                html += "<section data-project=\"\(name)\"><h2>Project \(name)</h2><ul>"
                for action in actions { html += item(action) }
                html += "</ul></section>"
            }
            let waits = plan.waits.filter { project == nil || $0.resource.project == project }
            if !waits.isEmpty {
                html += "<h2>Waiting</h2><ul id=\"waits\">"
                for wait in waits { html += "<li class=\"wait\">\(wait.resource.description): \(wait.reason)</li>" }
                html += "</ul>"
            }
            let warnings = plan.warnings.filter { project == nil || $0.resource?.project == project }
            if !warnings.isEmpty {
                html += "<h2>Warnings</h2><ul id=\"warnings\">"
                for warning in warnings { html += "<li class=\"warning\">\(warning.description)</li>" }
                html += "</ul>"
            }
            if project == nil, !plan.unreadable.isEmpty {
                html += "<h2>Unreadable</h2><ul id=\"unreadable\">"
                for problem in plan.unreadable { html += "<li>\(problem)</li>" }
                html += "</ul>"
            }
        }
        html += "</div>"
        return Layout.page(title: "Plan", section: .plan, context: context, live: "/ui/live\(Layout.query([("project", project)]))", body: html)
    }

    /// `+ create container berth-alpha-web-0` and its resource and cause.
    static func item(_ action: Action) -> HTML {
        "<li class=\"action\" data-resource=\"\(Layout.slug(action.resource))\"><code>\(String(action.operation.marker))</code> <span class=\"summary\">\(action.operation.summary)</span> <span class=\"cause\">(\(action.resource.description): \(action.cause))</span></li>"
    }
}

/// `/ui/cronjobs`: each CronJob's schedule, time zone, last and next run, and last result.
package enum CronJobsPage {
    package static func render(_ cronJobs: [CronJobStatus], project: String?, context: PageContext) -> HTML {
        var html = HTML(capacity: 300 * cronJobs.count + 2048)
        html +=
            "<h1>Cron jobs</h1><div class=\"scroll\"><table id=\"cronjobs\"><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Project</th><th scope=\"col\">Schedule</th><th scope=\"col\">Time zone</th><th scope=\"col\">Last run</th><th scope=\"col\">Next run</th><th scope=\"col\">Last result</th></tr></thead><tbody>"
        for cron in cronJobs {
            let id = cron.cronJob
            html +=
                "<tr data-resource=\"cronjob/\(id.project)/\(id.name)\"><th scope=\"row\">\(id.name)</th><td>\(id.project)</td><td class=\"schedule\"><code>\(cron.schedule)</code>\(cron.suspend ? " (suspended)" : "")</td>"
            html +=
                "<td class=\"timezone\">\(cron.timeZone)</td><td class=\"last-run\">\(lastRun(cron, now: context.now))</td><td class=\"next-run\">\(TimeText.element(cron.nextFireTime, now: context.now))</td><td class=\"last-result\">"
            if let run = cron.lastRun {
                html += "<span class=\"state-\(run.state.rawValue)\">\(run.state.rawValue)</span>"
                if let reason = run.reason { html += " \(reason)" }
                if let code = run.exitCode { html += " (exit \(code))" }
            } else {
                html += "-"
            }
            html += "</td></tr>"
        }
        html += "</tbody></table></div>"
        if cronJobs.isEmpty { html += "<p class=\"none\">No cron jobs.</p>" }
        return Layout.page(title: "Cron jobs", section: .cronJobs, context: context, live: "/ui/live\(Layout.query([("project", project)]))", body: html)
    }

    /// The last run's time, linked to its job.
    static func lastRun(_ cron: CronJobStatus, now: Date) -> HTML {
        guard let run = cron.lastRun else { return "-" }
        return "<a href=\"/ui/jobs/\(run.jobID)\">\(TimeText.element(run.submittedAt, now: now))</a>"
    }
}

/// The filter of the events page as the form shows it.
package struct EventFilterForm: Sendable {
    package var project: String?
    package var kind: String?
    package var name: String?

    package init(project: String? = nil, kind: String? = nil, name: String? = nil) {
        self.project = project
        self.kind = kind
        self.name = name
    }
}

/// `/ui/events`: the newest events, filtered by project or resource, live.
package enum EventsPage {
    package static func render(_ events: [EventRecord], filter: EventFilterForm, context: PageContext) -> HTML {
        var html = HTML(capacity: 300 * events.count + 2048)
        html += "<h1>Events</h1><form id=\"event-filter\" class=\"filter\" method=\"get\" action=\"/ui/events\">"
        html += "<label>Project <input name=\"project\" value=\"\(filter.project ?? "")\" size=\"12\"></label><label>Kind <select name=\"kind\"><option value=\"\">any</option>"
        for kind in [ResourceKind.service, .volume, .network, .bucket, .certificate, .cronJob] {
            let slug = Layout.kindSlug(kind)
            let selected: HTML = filter.kind == slug ? " selected" : ""
            html += "<option value=\"\(slug)\"\(selected)>\(kind.rawValue)</option>"
        }
        html += "</select></label><label>Name <input name=\"name\" value=\"\(filter.name ?? "")\" size=\"12\"></label><button type=\"submit\">Filter</button></form>"
        html +=
            "<div class=\"scroll\"><table id=\"events\"><thead><tr><th scope=\"col\">Time</th><th scope=\"col\">Project</th><th scope=\"col\">About</th><th scope=\"col\">Reason</th><th scope=\"col\">Message</th></tr></thead><tbody>"
        for event in events {
            let warning: HTML = event.type == .warning ? " class=\"warning\"" : ""
            html += "<tr data-sequence=\"\(event.sequence)\"\(warning)><td>\(TimeText.element(event.time, now: context.now))</td><td>\(event.project)</td><td>"
            if let resource = event.resource {
                html += resource.kind == .service ? "<a href=\"/ui/services/\(resource.project)/\(resource.name)\">\(resource.description)</a>" : "\(resource.description)"
            }
            if let job = event.jobID { html += " <a href=\"/ui/jobs/\(job)\">job \(job)</a>" }
            html += "</td><td class=\"reason\">\(event.reason)</td><td class=\"message\">\(event.message)</td></tr>"
        }
        html += "</tbody></table></div>"
        if events.isEmpty { html += "<p class=\"none\">No events.</p>" }
        return Layout.page(title: "Events", section: .events, context: context, live: "/ui/live\(Layout.query([("project", filter.project)]))", body: html)
    }
}

/// `/ui/certificates`: each Certificate's names, issuer, expiry (highlighted when near) and files.
package enum CertificatesPage {
    /// One certificate: its desired spec and last status.
    package struct Entry: Sendable {
        package var id: ResourceID
        package var spec: CertificateSpec
        package var status: ResourceStatus?

        package init(id: ResourceID, spec: CertificateSpec, status: ResourceStatus?) {
            self.id = id
            self.spec = spec
            self.status = status
        }

        /// When the certificate expires: its next renewal (`nextAttemptAt` of a Ready status) plus `renewBefore`.
        var expiry: Date? {
            guard let status, status.phase == .ready, let renewAt = status.nextAttemptAt else { return nil }
            return renewAt.addingTimeInterval(spec.renewBefore.seconds)
        }
    }

    /// Within this of its expiry, a certificate is highlighted even before its renewal window.
    static let nearExpiry: TimeInterval = 14 * 86400

    package static func render(_ entries: [Entry], project: String?, context: PageContext) -> HTML {
        var html = HTML(capacity: 400 * entries.count + 2048)
        html +=
            "<h1>Certificates</h1><div class=\"scroll\"><table id=\"certificates\"><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Project</th><th scope=\"col\">Phase</th><th scope=\"col\">Names</th><th scope=\"col\">Issuer</th><th scope=\"col\">Expires</th><th scope=\"col\">Written to</th></tr></thead><tbody>"
        for entry in entries {
            let expiry = entry.expiry
            let renewing = entry.status?.nextAttemptAt.map { $0 <= context.now } ?? false
            let near = expiry.map { renewing || $0.timeIntervalSince(context.now) < nearExpiry } ?? false
            let phase = entry.status?.phase.rawValue ?? "Pending"
            let nearClass: HTML = near ? " class=\"near-expiry\"" : ""
            html += "<tr data-resource=\"certificate/\(entry.id.project)/\(entry.id.name)\"\(nearClass)><th scope=\"row\">\(entry.id.name)</th><td>\(entry.id.project)</td>"
            html += "<td class=\"phase phase-\(phase)\">\(phase)</td><td class=\"names\">\(([entry.spec.commonName] + entry.spec.dnsNames + entry.spec.ipAddresses).joined(separator: ", "))</td>"
            html += "<td class=\"issuer\">\(entry.spec.issuer.rawValue)</td><td class=\"expiry\">\(TimeText.element(expiry, now: context.now))</td><td class=\"paths\">"
            let files = entry.spec.files
            switch entry.spec.target {
            case .hostPath(let folder): html += "host \(folder)"
            case .volume(let name, let path): html += "volume \(name):\(path)"
            }
            html += ": \(files.certificate), \(files.key), \(files.fullchain)</td></tr>"
        }
        html += "</tbody></table></div>"
        if entries.isEmpty { html += "<p class=\"none\">No certificates.</p>" }
        return Layout.page(title: "Certificates", section: .certificates, context: context, live: "/ui/live\(Layout.query([("project", project)]))", body: html)
    }
}

/// `/ui/signin`: a token in a password field; `error` after a refused one.
package enum SignInPage {
    package static func render(csrf: String, error: String?) -> HTML {
        var html = HTML()
        html += "<div class=\"signin\"><h1>Sign in</h1>"
        if let error { html += "<p class=\"error\" role=\"alert\">\(error)</p>" }
        html += "<form method=\"post\" action=\"/ui/signin\"><input type=\"hidden\" name=\"csrf\" value=\"\(csrf)\">"
        html += "<label for=\"token\">API token</label><input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus>"
        html += "<button id=\"signin\" type=\"submit\">Sign in</button></form>"
        html += "<p class=\"muted\">Make a token with <code>berth token create</code>; the session acts with its scopes.</p></div>"
        return Layout.bare(title: "Sign in", body: html)
    }
}
