/// What follows the end of a job's attempt besides its verdict: its output archived (when an
/// object store is configured), its completion webhook woken (when one is sent from here).
public struct JobCompletion: Sendable {
    public var archiver: JobLogArchiver?
    public var webhooks: WebhookDispatcher?

    public init(archiver: JobLogArchiver? = nil, webhooks: WebhookDispatcher? = nil) {
        self.archiver = archiver
        self.webhooks = webhooks
    }
}
