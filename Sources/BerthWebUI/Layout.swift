import BerthCore
import Foundation

/// What every signed-in page is rendered with: the session's CSRF value (for the sign-out form and
/// every other form) and the time relative times are counted from.
package struct PageContext: Sendable {
    package var csrf: String
    package var now: Date

    package init(csrf: String, now: Date) {
        self.csrf = csrf
        self.now = now
    }
}

/// The pages of the navigation.
package enum Section: CaseIterable, Sendable {
    case overview, plan, jobs, cronJobs, events, certificates, nodes

    var path: HTML {
        switch self {
        case .overview: "/ui/"
        case .plan: "/ui/plan"
        case .jobs: "/ui/jobs"
        case .cronJobs: "/ui/cronjobs"
        case .events: "/ui/events"
        case .certificates: "/ui/certificates"
        case .nodes: "/ui/nodes"
        }
    }

    var title: HTML {
        switch self {
        case .overview: "Overview"
        case .plan: "Plan"
        case .jobs: "Jobs"
        case .cronJobs: "Cron jobs"
        case .events: "Events"
        case .certificates: "Certificates"
        case .nodes: "Nodes"
        }
    }
}

/// The document around every page: head, skip link, navigation, sign-out, and `main`.
package enum Layout {
    /// A signed-in page; `live` is the event stream berth.js follows to refresh `main` (empty: none).
    package static func page(title: String, section: Section?, context: PageContext, live: String, body: HTML) -> HTML {
        var html = HTML(capacity: body.text.utf8.count + 2048)
        html += head(title)
        html += "<header><span class=\"brand\">Berth</span><nav id=\"nav\" aria-label=\"Pages\"><ul>"
        for item in Section.allCases {
            let current: HTML = item == section ? " aria-current=\"page\"" : ""
            html += "<li><a href=\"\(item.path)\"\(current)>\(item.title)</a></li>"
        }
        html +=
            "</ul></nav><form id=\"signout\" method=\"post\" action=\"/ui/signout\"><input type=\"hidden\" name=\"csrf\" value=\"\(context.csrf)\"><button type=\"submit\">Sign out</button></form></header>"
        let liveAttribute: HTML = live.isEmpty ? "" : " data-live=\"\(live)\""
        html += "<main id=\"main\"\(liveAttribute)>\(body)</main></body></html>"
        return html
    }

    /// A page without navigation: sign-in, and errors.
    package static func bare(title: String, body: HTML) -> HTML {
        "\(head(title))<header><span class=\"brand\">Berth</span></header><main id=\"main\">\(body)</main></body></html>"
    }

    private static func head(_ title: String) -> HTML {
        """
        <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">\
        <title>\(title) · Berth</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/ui/assets/berth.css"><script src="/ui/assets/berth.js" defer></script></head>\
        <body><a class="skip" href="#main">Skip to content</a>
        """
    }

    /// `service/alpha/web`: a resource's `data-resource` value and the tail of its page's path.
    static func slug(_ id: ResourceID) -> String {
        "\(kindSlug(id.kind))/\(id.project)/\(id.name)"
    }

    static func kindSlug(_ kind: ResourceKind) -> String {
        switch kind {
        case .project: "project"
        case .volume: "volume"
        case .network: "network"
        case .service: "service"
        case .job: "job"
        case .cronJob: "cronjob"
        case .bucket: "bucket"
        case .certificate: "certificate"
        case .jobTemplate: "jobtemplate"
        }
    }

    /// An error page: `h1` and `p.error[role=alert]`.
    package static func error(title: String, message: String) -> HTML {
        bare(title: title, body: "<h1>\(title)</h1><p class=\"error\" role=\"alert\">\(message)</p><p><a href=\"/ui/\">Back to the overview</a></p>")
    }

    /// The query string of `items` (empty values left out), `?` included when there is any.
    static func query(_ items: [(String, String?)]) -> String {
        let parts = items.compactMap { name, value -> String? in
            guard let value, !value.isEmpty else { return nil }
            return "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: queryValue) ?? "")"
        }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }

    private static let queryValue: CharacterSet = {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:")
        return allowed
    }()
}
