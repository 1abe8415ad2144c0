/// Berth's durable state: API-written desired resources, resource status, adoptions, the job queue, events,
/// the git source's revisions, API tokens, the web UI's sessions, the nodes, where each service replica
/// runs, the issued certificates and the local CA, and the leader lease. Implemented once over SQL (`SQLStore`), opened on
/// PostgreSQL (`PostgresStore`) or SQLite (`SQLiteStore`), which pass one conformance suite.
/// Every operation is atomic; none blocks a Swift concurrency thread. Callers that need one role
/// only depend on its protocol (`JobQueue`, `EventLog`, …).
public protocol Store: ResourceStore, AdoptionStore, JobQueue, EventLog, SourceLog, TokenStore, LeaderLease, StoreNotifications,
    JobDeliveryLog, UISessionStore, NodeRegistry, PlacementStore, CertificateMaterialStore
{
    /// Closes connections and ends notification streams. Operations afterwards throw `closed`.
    func close() async
}
