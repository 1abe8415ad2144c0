/// The labels Berth puts on Docker objects; only objects carrying `berth.managed=true` are ever touched.
public enum LabelKey {
    public static let managed = "berth.managed"
    public static let project = "berth.project"
    public static let kind = "berth.kind"
    public static let name = "berth.name"
    public static let replica = "berth.replica"
    /// On a service container made on a node: the generation of its replica's assignment
    /// (``ReplicaAssignment``), so a container left from before the replica moved away and back
    /// is told from the current one.
    public static let assignmentGeneration = "berth.assignment-generation"
    public static let job = "berth.job"
    /// The attempt of the job a worker container runs (from 1).
    public static let attempt = "berth.attempt"
    public static let specHash = "berth.spec-hash"
    /// The canonical JSON of the spec a container was created from, so a later plan can name the
    /// fields that changed. It holds nothing `docker inspect` does not show: secret references,
    /// never resolved secret values.
    public static let spec = "berth.spec"
    /// Recorded on volumes and buckets so an orphaned one still says whether it may be deleted.
    public static let reclaimPolicy = "berth.reclaim-policy"
    /// Recorded on buckets: `true` when a bucket that still holds objects may be deleted.
    public static let deleteNonEmpty = "berth.delete-non-empty"

    /// The prefix reserved for Berth's own labels.
    public static let reservedPrefix = "berth."

    /// User labels may not use the reserved prefix and must be non-empty.
    static func validateUserLabel(_ key: String) throws(ValidationError) {
        guard !key.isEmpty else { throw ValidationError("expected a non-empty label key") }
        guard !key.hasPrefix(reservedPrefix) else {
            throw ValidationError("label keys starting with \"\(reservedPrefix)\" are reserved for Berth, found \"\(key)\"")
        }
    }
}

/// The `berth.kind` label values.
public enum ObjectKind: String, Sendable, Hashable, Codable {
    case service
    case job
    case volume
    case network
    case certificateHelper = "certificate-helper"
}

/// Deterministic Docker object names, so a repeated create after a crash meets a 409 and adopts.
public enum ObjectName {
    /// `berth-<project>-<service>-<replica>`
    public static func serviceContainer(project: String, service: String, replica: Int) -> String {
        "berth-\(project)-\(service)-\(replica)"
    }

    /// The name an outgoing replica is renamed to while its start-first replacement comes up.
    public static func outgoingContainer(project: String, service: String, replica: Int) -> String {
        "\(serviceContainer(project: project, service: service, replica: replica))-old"
    }

    /// `berth-<project>-job-<id>`
    public static func jobContainer(project: String, jobID: String) -> String {
        "berth-\(project)-job-\(jobID)"
    }

    /// `berth-<project>-job-<id>-scratch`: a job's own input/output space.
    public static func jobScratchVolume(project: String, jobID: String) -> String {
        "\(jobContainer(project: project, jobID: jobID))-scratch"
    }

    /// `berth-<project>-<volume>`
    public static func volume(project: String, name: String) -> String {
        "berth-\(project)-\(name)"
    }

    /// `berth-<project>-<network>`
    public static func network(project: String, name: String) -> String {
        "berth-\(project)-\(name)"
    }
}
