/// A controller's hold on a job: who claimed it and the fencing token the claim got. Transitions
/// and renewals carry it; the store refuses them once another claim (a takeover) replaced it.
public struct JobClaim: Sendable, Hashable {
    public var controller: String
    public var fence: Int

    public init(controller: String, fence: Int) {
        self.controller = controller
        self.fence = fence
    }
}
