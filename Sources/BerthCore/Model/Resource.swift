/// A resource's envelope fields besides its kind.
public struct ResourceMetadata: Sendable, Hashable, Codable {
    public var name: String
    public var project: String
    /// Free-form labels for people and selectors; not copied onto Docker objects.
    public var labels: [String: String]

    public init(name: String, project: String = ResourceID.defaultProject, labels: [String: String] = [:]) {
        self.name = name
        self.project = project
        self.labels = labels
    }
}

/// The typed spec of a resource, one case per kind.
public enum ResourceSpec: Sendable, Hashable {
    case project(ProjectSpec)
    case volume(VolumeSpec)
    case network(NetworkSpec)
    case service(ServiceSpec)
    case job(JobSpec)
    case cronJob(CronJobSpec)
    case bucket(BucketSpec)
    case certificate(CertificateSpec)
    case jobTemplate(JobTemplateSpec)

    public var kind: ResourceKind {
        switch self {
        case .project: .project
        case .volume: .volume
        case .network: .network
        case .service: .service
        case .job: .job
        case .cronJob: .cronJob
        case .bucket: .bucket
        case .certificate: .certificate
        case .jobTemplate: .jobTemplate
        }
    }
}

/// One desired resource in the `apiVersion: berth/v1` envelope.
public struct Resource: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The only API version this build reads.
    public static let apiVersion = "berth/v1"

    public var metadata: ResourceMetadata
    public var spec: ResourceSpec
    /// Where the document started, for messages; not part of the resource's identity or encoding.
    public var location: SourceLocation?

    public init(metadata: ResourceMetadata, spec: ResourceSpec, location: SourceLocation? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.location = location
    }

    public var id: ResourceID { ResourceID(kind: spec.kind, project: metadata.project, name: metadata.name) }

    /// The container a Service, Job or CronJob runs; `nil` for other kinds.
    public var containerSpec: ContainerSpec? {
        switch spec {
        case .service(let spec): spec.container
        case .job(let spec): spec.container
        case .cronJob(let spec): spec.jobTemplate.container
        case .project, .volume, .network, .bucket, .certificate, .jobTemplate: nil
        }
    }
    public var kind: ResourceKind { spec.kind }
    public var description: String { id.description }

    /// Reads one document. Every problem is recorded in `context`; the result is `nil` when there was any.
    public static func read(_ node: InputNode, context: ReadContext) -> Resource? {
        let root = ValueReader(node: node, path: "", context: context)
        guard let map = root.attempt({ try $0.map() }) else { return nil }
        defer { map.finish() }
        _ = map.required("apiVersion") { reader -> String in
            let version = try reader.string()
            guard version == apiVersion else {
                throw reader.fail("expected apiVersion \"\(apiVersion)\", found \"\(version)\"")
            }
            return version
        }
        let kind = map.required("kind") { try $0.choice(ResourceKind.self) }
        let metadata = map.required("metadata") { try readMetadata(try $0.map()) }
        guard let kind, let metadata else {
            _ = map.has("spec")
            return nil
        }
        let id = ResourceID(kind: kind, project: metadata.project, name: metadata.name)
        context.attachResource(id)
        let spec: ResourceSpec?
        if kind == .project {
            if metadata.project != ResourceID.defaultProject {
                map.report("a Project has no metadata.project; its metadata.name is the project", field: "metadata")
            }
            spec = map.optional("spec", default: .project(ProjectSpec())) { try readSpec(kind, metadata, $0) }
        } else {
            spec = map.required("spec") { try readSpec(kind, metadata, $0) }
        }
        guard let spec, context.issues.isEmpty else { return nil }
        return Resource(metadata: metadata, spec: spec, location: node.location)
    }

    private static func readMetadata(_ map: MapReader) throws -> ResourceMetadata {
        defer { map.finish() }
        let name = map.required("name") { try $0.parse(ResourceName.validated) }
        let project = map.optional("project", default: ResourceID.defaultProject) { try $0.parse(ResourceName.validated) }
        let labels = map.optional("labels", default: [:]) { try $0.dictionary { try $0.string() } }
        guard let name else { throw AlreadyReported() }
        return ResourceMetadata(name: name, project: project, labels: labels)
    }

    private static func readSpec(_ kind: ResourceKind, _ metadata: ResourceMetadata, _ reader: ValueReader) throws -> ResourceSpec {
        let map = try reader.map()
        defer { map.finish() }
        let spec: ResourceSpec? =
            switch kind {
            case .project: ProjectSpec.read(map).map(ResourceSpec.project)
            case .volume: VolumeSpec.read(map).map(ResourceSpec.volume)
            case .network: NetworkSpec.read(map).map(ResourceSpec.network)
            case .service: ServiceSpec.read(map).map(ResourceSpec.service)
            case .job: JobSpec.read(map).map(ResourceSpec.job)
            case .cronJob: CronJobSpec.read(map).map(ResourceSpec.cronJob)
            case .bucket: BucketSpec.read(map, defaultName: "\(metadata.project)-\(metadata.name)").map(ResourceSpec.bucket)
            case .certificate: CertificateSpec.read(map).map(ResourceSpec.certificate)
            case .jobTemplate: JobTemplateSpec.read(map).map(ResourceSpec.jobTemplate)
            }
        guard let spec else { throw AlreadyReported() }
        return spec
    }

    private enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, spec }

    /// Decodes through the same reader as manifests, so JSON bodies get the same checks and messages.
    public init(from decoder: any Decoder) throws {
        try self.init(input: InputNode(from: decoder))
    }

    /// Reads JSON text (a stored document) through the same reader, without Foundation's decoder.
    public init(json: String) throws(ValidationError) {
        try self.init(input: InputNode(json: json))
    }

    private init(input node: InputNode) throws(ValidationError) {
        let context = ReadContext()
        guard let resource = Resource.read(node, context: context) else {
            throw ValidationError(issues: context.issues)
        }
        self = resource
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Resource.apiVersion, forKey: .apiVersion)
        try container.encode(kind, forKey: .kind)
        if kind == .project {
            // A project is its own namespace: `metadata.project` does not apply.
            try container.encode(ProjectMetadata(name: metadata.name, labels: metadata.labels), forKey: .metadata)
        } else {
            try container.encode(metadata, forKey: .metadata)
        }
        switch spec {
        case .project(let spec): try container.encode(spec, forKey: .spec)
        case .volume(let spec): try container.encode(spec, forKey: .spec)
        case .network(let spec): try container.encode(spec, forKey: .spec)
        case .service(let spec): try container.encode(spec, forKey: .spec)
        case .job(let spec): try container.encode(spec, forKey: .spec)
        case .cronJob(let spec): try container.encode(spec, forKey: .spec)
        case .bucket(let spec): try container.encode(spec, forKey: .spec)
        case .certificate(let spec): try container.encode(spec, forKey: .spec)
        case .jobTemplate(let spec): try container.encode(spec, forKey: .spec)
        }
    }
}

/// A Project's metadata as written: no `project` field.
private struct ProjectMetadata: Encodable {
    var name: String
    var labels: [String: String]
}

extension Decodable {
    /// Decodes any input (JSON, a stored spec) into an ``InputNode`` and reads it with `read`,
    /// so specs decoded from storage pass the same validation as manifests.
    static func decodeInput(from decoder: any Decoder, read: (MapReader) -> Self?) throws -> Self {
        try readInput(InputNode(from: decoder), read: read)
    }

    /// Reads a spec from an input tree with `read`; every problem found is in the thrown error.
    static func readInput(_ node: InputNode, read: (MapReader) -> Self?) throws(ValidationError) -> Self {
        let context = ReadContext()
        let reader = ValueReader(node: node, path: "spec", context: context)
        let value = reader.attempt { reader -> Self in
            let map = try reader.map()
            defer { map.finish() }
            guard let value = read(map) else { throw AlreadyReported() }
            return value
        }
        guard let value, context.issues.isEmpty else {
            throw ValidationError(issues: context.issues.isEmpty ? [ValidationIssue(message: "invalid spec")] : context.issues)
        }
        return value
    }
}

extension InputNode: Decodable {
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Reads any JSON-like input; keys keep the decoder's order, values have no source position.
    public init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: AnyKey.self) {
            let entries = try keyed.allKeys.map { key in
                Entry(key: key.stringValue, value: try keyed.decode(InputNode.self, forKey: key))
            }
            self.init(.map(entries.sorted { $0.key < $1.key }))
            return
        }
        if var unkeyed = try? decoder.unkeyedContainer() {
            var items: [InputNode] = []
            while !unkeyed.isAtEnd { items.append(try unkeyed.decode(InputNode.self)) }
            self.init(.list(items))
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self.init(.null)
        } else if let value = try? single.decode(Bool.self) {
            self.init(.bool(value))
        } else if let value = try? single.decode(Int.self) {
            self.init(.number(String(value)))
        } else if let value = try? single.decode(Double.self) {
            self.init(.number(String(value)))
        } else {
            self.init(.string(try single.decode(String.self)))
        }
    }
}
