/// The kinds of desired state Berth converges.
public enum ResourceKind: String, Sendable, Hashable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    case project = "Project"
    case volume = "Volume"
    case network = "Network"
    case service = "Service"
    case job = "Job"
    case cronJob = "CronJob"
    case bucket = "Bucket"
    case certificate = "Certificate"
    /// A Job with declared parameters that jobs are submitted from; nothing runs for it.
    case jobTemplate = "JobTemplate"

    /// Kinds sort in this declaration order, so projects and volumes come first in listings.
    public static func < (lhs: ResourceKind, rhs: ResourceKind) -> Bool {
        lhs.order < rhs.order
    }

    /// The position in declaration order (sorting 10,000 identities compares kinds often).
    private var order: Int {
        switch self {
        case .project: 0
        case .volume: 1
        case .network: 2
        case .service: 3
        case .job: 4
        case .cronJob: 5
        case .bucket: 6
        case .certificate: 7
        case .jobTemplate: 8
        }
    }

    public var description: String { rawValue }
}

/// A resource's identity: `(kind, project, name)`.
public struct ResourceID: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var kind: ResourceKind
    public var project: String
    public var name: String

    public init(kind: ResourceKind, project: String, name: String) {
        self.kind = kind
        self.project = project
        self.name = name
    }

    /// The project every resource without `metadata.project` belongs to; it exists implicitly.
    public static let defaultProject = "default"

    public static func < (lhs: ResourceID, rhs: ResourceID) -> Bool {
        (lhs.kind, lhs.project, lhs.name) < (rhs.kind, rhs.project, rhs.name)
    }

    /// The project the resource belongs to for access: its own, and for a Project document (whose
    /// `metadata.project` is always `default`) the project it declares.
    public var owningProject: String { kind == .project ? name : project }

    /// `Service qfield/app`
    public var description: String { "\(kind) \(project)/\(name)" }
}
