import BerthAPI
import Foundation

/// `/ui/nodes`: every node of the store with its state (late, cordoned and draining ones marked),
/// labels, engine, capacity, what runs there and how old its heartbeat is: what `berth nodes` shows.
package enum NodesPage {
    package static func render(_ nodes: [NodeView], context: PageContext) -> HTML {
        var html = HTML(capacity: 300 * nodes.count + 2048)
        html +=
            "<h1>Nodes</h1><div class=\"scroll\"><table id=\"nodes\"><thead><tr><th scope=\"col\">Name</th><th scope=\"col\">State</th><th scope=\"col\">Labels</th><th scope=\"col\">Engine</th><th scope=\"col\">CPUs</th><th scope=\"col\">Memory</th><th scope=\"col\">Jobs</th><th scope=\"col\">Replicas</th><th scope=\"col\">Heartbeat</th></tr></thead><tbody>"
        for node in nodes {
            let late: HTML = node.ready ? "" : " class=\"not-ready\""
            let labels = node.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            html += "<tr data-node=\"\(node.name)\"\(late)><th scope=\"row\">\(node.name)</th>"
            html += "<td class=\"state state-\(node.state)\">\(node.state)\(node.ready || node.state == "NotReady" ? "" : ", NotReady")</td>"
            html += "<td class=\"labels\">\(labels)</td><td>\(node.engineVersion)</td><td>\(node.cpus)</td>"
            html += "<td>\(String(format: "%.1f GiB", Double(node.memoryBytes) / 1_073_741_824))</td>"
            html += "<td>\(node.runningJobs) of \(node.maxConcurrentJobs)</td><td>\(node.runningReplicas)</td>"
            html += "<td class=\"heartbeat\">\(TimeText.element(node.heartbeatAt, now: context.now))</td></tr>"
        }
        html += "</tbody></table></div>"
        if nodes.isEmpty { html += "<p class=\"none\">No nodes: no controller has sent a heartbeat to this store.</p>" }
        return Layout.page(title: "Nodes", section: .nodes, context: context, live: "/ui/live", body: html)
    }
}
