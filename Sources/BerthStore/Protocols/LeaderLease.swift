import BerthCore
import Foundation

/// The named leases that elect one leader among the controllers sharing a store.
public protocol LeaderLease: Sendable {
    /// Takes or keeps the named leader lease for `holder`; false while another holder has it.
    /// Call it again before `lease` runs out to keep it (see each store for how it is held).
    func tryAcquireLeadership(name: String, holder: String, lease: TimeSpan, now: Date) async throws(StoreError) -> Bool
    func releaseLeadership(name: String, holder: String) async throws(StoreError)
}
