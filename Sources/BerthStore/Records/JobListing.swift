import BerthCore
import Foundation

/// Which jobs to list; every field narrows the result.
public struct JobFilter: Sendable, Hashable {
    public var project: String?
    /// Any of these states; empty for all.
    public var states: Set<JobState>
    public var owner: ResourceID?
    public var claimedBy: String?
    public var submittedAfter: Date?
    public var submittedBefore: Date?
    /// Jobs whose labels match every one of these.
    public var labels: [LabelSelector]

    public init(
        project: String? = nil, states: Set<JobState> = [], owner: ResourceID? = nil, claimedBy: String? = nil,
        submittedAfter: Date? = nil, submittedBefore: Date? = nil, labels: [LabelSelector] = []
    ) {
        self.project = project
        self.states = states
        self.owner = owner
        self.claimedBy = claimedBy
        self.submittedAfter = submittedAfter
        self.submittedBefore = submittedBefore
        self.labels = labels
    }
}

/// One page of a keyset-paginated listing.
public struct PageRequest: Sendable, Hashable {
    public enum Order: String, Sendable, Hashable, CaseIterable {
        case newestFirst, oldestFirst
    }

    public var limit: Int
    /// The `nextCursor` of the previous page; `nil` for the first.
    public var cursor: String?
    public var order: Order

    public init(limit: Int = 50, cursor: String? = nil, order: Order = .newestFirst) {
        self.limit = limit
        self.cursor = cursor
        self.order = order
    }
}

/// The items of one page and where the next one starts.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// Pass in the next `PageRequest`; `nil` when this was the last page.
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}
