/// What `berth nodes cordon|uncordon|drain` and `POST /v1/nodes/{name}/…` do to a node's flags,
/// in one place for the API and the CLI's local client.
public enum NodeScheduling: String, Sendable, CaseIterable {
    /// No new work goes there; a drain in progress ends (what runs there stays).
    case cordon
    /// New work may go there again; ends a cordon and a drain.
    case uncordon
    /// Cordoned, and its work moves off: running jobs run to their end, services' replicas
    /// move when placement reads the flag.
    case drain

    /// The node's `cordoned` and `draining` flags after it.
    public var flags: (cordoned: Bool, draining: Bool) {
        switch self {
        case .cordon: (true, false)
        case .uncordon: (false, false)
        case .drain: (true, true)
        }
    }
}
