import Foundation

/// What the controller remembers between passes and hands to the planner: restarts it made.
public struct PlanHistory: Sendable, Hashable, Codable {
    /// Restarts Berth made of one container (by name) in a row, for crash-loop backoff.
    public struct Restarts: Sendable, Hashable, Codable {
        public var count: Int
        public var last: Date

        public init(count: Int, last: Date) {
            self.count = count
            self.last = last
        }
    }

    public var restarts: [String: Restarts]

    public init(restarts: [String: Restarts] = [:]) {
        self.restarts = restarts
    }
}
