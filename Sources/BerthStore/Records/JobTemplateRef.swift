/// The JobTemplate a job was rendered from.
public struct JobTemplateRef: Sendable, Hashable, Codable {
    public var name: String
    /// The template's generation when the job was rendered: the store's generation of an
    /// API-written template; nil for one declared in a manifest (which has none).
    public var generation: Int64?

    public init(name: String, generation: Int64?) {
        self.name = name
        self.generation = generation
    }
}
