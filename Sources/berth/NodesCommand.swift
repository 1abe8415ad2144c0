import ArgumentParser
import BerthAPI
import BerthCore
import Foundation
import Logging

/// `berth nodes …`: the controllers of one store (`berth serve --node NAME`), their heartbeats,
/// and cordon, drain and removal, through the client the options choose.
struct NodesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nodes",
        abstract: "List the nodes (controllers) of the store; cordon, uncordon, drain or remove one.",
        subcommands: [List.self, Cordon.self, Uncordon.self, Drain.self, Remove.self],
        defaultSubcommand: List.self
    )

    /// `berth nodes [list] [--json]`
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list",
            abstract: "Show every node: state, labels, engine, capacity, what runs there and how old its heartbeat is.",
            discussion: """
                STATE is Ready, NotReady (no heartbeat within the node's --node-timeout), Cordoned (no new work) or \
                Draining (no new work, and its work moves off); a cordoned node that is also late shows \
                "Cordoned,NotReady".
                """
        )

        @OptionGroup var controller: ControllerOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            let nodes = try await controller.withClient { client in try await client.nodes() }
            if json { return try printJSON(nodes) }
            let header = ["NAME", "STATE", "LABELS", "ENGINE", "CPUS", "MEMORY", "JOBS", "REPLICAS", "HEARTBEAT-AGE"]
            let rows = nodes.map { node in
                [
                    node.name, node.state + (node.state != "Ready" && node.state != "NotReady" && !node.ready ? ",NotReady" : ""),
                    node.labels.isEmpty ? "-" : node.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                    node.engineVersion.isEmpty ? "-" : node.engineVersion, String(node.cpus), Self.memory(node.memoryBytes),
                    "\(node.runningJobs)/\(node.maxConcurrentJobs)", String(node.runningReplicas), "\(Int(node.heartbeatAgeSeconds.rounded()))s",
                ].map { TerminalText.escaped($0, keepingLines: false) }
            }
            print(textTable([header] + rows))
        }

        /// Memory in GiB with one decimal, as engines report it (`MemTotal`).
        static func memory(_ bytes: Int64) -> String {
            String(format: "%.1fGi", Double(bytes) / 1_073_741_824)
        }
    }

    /// `berth nodes cordon NAME`
    struct Cordon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cordon", abstract: "Take no new work on the node (jobs are not claimed there); what runs there stays. Ends a drain.")
        @OptionGroup var node: NodeArguments
        func run() async throws { try await node.schedule(.cordon) }
    }

    /// `berth nodes uncordon NAME`
    struct Uncordon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "uncordon", abstract: "Let the node take new work again (ends a cordon or a drain).")
        @OptionGroup var node: NodeArguments
        func run() async throws { try await node.schedule(.uncordon) }
    }

    /// `berth nodes drain NAME`
    struct Drain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "drain",
            abstract: "Cordon the node and move its work off: no new jobs are claimed there, running jobs run to their end.")
        @OptionGroup var node: NodeArguments
        func run() async throws { try await node.schedule(.drain) }
    }

    /// `berth nodes remove NAME [--force]`
    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove",
            abstract: "Forget a node that is gone. Refused while its heartbeat is recent (its controller would register it again) unless --force.")
        @OptionGroup var controller: ControllerOptions
        @Argument(help: "The node's name (its berth serve --node).") var name: String
        @Flag(help: "Remove it even though its heartbeat is recent.") var force = false

        func run() async throws {
            controller.bootstrapLogging(fallback: .error)
            try await controller.withClient { client in try await client.removeNode(name, force: force) }
            print("removed node \(name)")
        }
    }
}

/// The options and the node's name of cordon, uncordon and drain.
struct NodeArguments: ParsableArguments {
    @OptionGroup var controller: ControllerOptions
    @Argument(help: "The node's name (its berth serve --node).") var name: String
    @Flag(help: "Print the node after as JSON.") var json = false

    /// Applies `action` and prints the node after.
    func schedule(_ action: NodeScheduling) async throws {
        controller.bootstrapLogging(fallback: .error)
        let node = try await controller.withClient { client in try await client.scheduleNode(name, action) }
        if json { return try printJSON(node) }
        print("node \(node.name): \(node.state)\(node.draining ? " (running jobs run to their end)" : "")")
    }
}
