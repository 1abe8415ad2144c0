/// A namespace of resources with limits and defaults for its jobs and containers, and the policy
/// its API writers are held to.
public struct ProjectSpec: Sendable, Hashable, Codable {
    /// At most this many jobs of the project run at once; `nil` leaves only the controller's limit.
    public var maxConcurrentJobs: Int?
    /// At most one job of the project is active at a time (the project is locked while it is processed).
    public var exclusiveJobs: Bool
    /// Limits applied to the project's services and jobs that declare none.
    public var defaultResources: ResourceLimits?
    /// What API writers may ask of the host; `nil` gives them the defaults of ``ProjectPolicy``.
    public var policy: ProjectPolicy?
    /// Where the complete output of the project's jobs goes when they declare no `logArchive`.
    public var logArchive: LogArchiveSpec?

    public init(
        maxConcurrentJobs: Int? = nil, exclusiveJobs: Bool = false, defaultResources: ResourceLimits? = nil, policy: ProjectPolicy? = nil,
        logArchive: LogArchiveSpec? = nil
    ) {
        self.maxConcurrentJobs = maxConcurrentJobs
        self.exclusiveJobs = exclusiveJobs
        self.defaultResources = defaultResources
        self.policy = policy
        self.logArchive = logArchive
    }

    static func read(_ map: MapReader) -> ProjectSpec? {
        ProjectSpec(
            maxConcurrentJobs: map.optional("maxConcurrentJobs") { try $0.int(in: 1...10_000) },
            exclusiveJobs: map.optional("exclusiveJobs", default: false) { try $0.bool() },
            defaultResources: map.optional("defaultResources") { try ResourceLimits.read(try $0.map()) },
            policy: map.optional("policy") { reader -> ProjectPolicy in
                let policy = try reader.map()
                defer { policy.finish() }
                return ProjectPolicy.read(policy)
            },
            logArchive: map.optional("logArchive") { try $0.nested(LogArchiveSpec.read) }
        )
    }

    public init(from decoder: any Decoder) throws {
        self = try Self.decodeInput(from: decoder, read: Self.read)
    }
}

/// A Docker volume of a project: created and owned by Berth, or (`external`) one that exists and
/// is used as it is (a compose project's volume adopted with its data).
public struct VolumeSpec: Sendable, Hashable, Codable {
    public var driver: String
    public var options: [String: String]
    public var labels: [String: String]
    /// `Retain` keeps the volume when the resource goes away; `Delete` removes it once no container uses it.
    public var reclaimPolicy: ReclaimPolicy
    /// Use an existing volume by ``volumeName`` (default: the resource's name); Berth never
    /// creates, changes or removes it.
    public var external: Bool
    /// The engine's name for the volume; Berth's own are `berth-<project>-<name>`.
    public var volumeName: String?

    public init(
        driver: String = "local",
        options: [String: String] = [:],
        labels: [String: String] = [:],
        reclaimPolicy: ReclaimPolicy = .retain,
        external: Bool = false,
        volumeName: String? = nil
    ) {
        self.driver = driver
        self.options = options
        self.labels = labels
        self.reclaimPolicy = reclaimPolicy
        self.external = external
        self.volumeName = volumeName
    }

    /// The engine's name for this volume of `project` called `name`.
    public func engineName(project: String, name: String) -> String {
        if external { return volumeName ?? name }
        return ObjectName.volume(project: project, name: name)
    }

    static func read(_ map: MapReader) -> VolumeSpec? {
        let external = map.optional("external", default: false) { try $0.bool() }
        let spec = VolumeSpec(
            driver: map.optional("driver", default: "local") { try $0.nonEmptyString() },
            options: map.optional("options", default: [:]) { try $0.dictionary { try $0.string() } },
            labels: map.optional("labels", default: [:]) {
                try $0.dictionary(validateKey: LabelKey.validateUserLabel) { try $0.string() }
            },
            reclaimPolicy: map.optional("reclaimPolicy", default: .retain) { try $0.choice(ReclaimPolicy.self) },
            external: external,
            volumeName: map.optional("volumeName") { try $0.parse(EngineObjectName.volume) }
        )
        if external {
            for field in ["driver", "options", "labels", "reclaimPolicy"] where map.has(field) {
                map.report("an external volume is used as it is, so Berth sets none of its fields; leave \(field) out or drop external", field: field)
            }
        } else if map.has("volumeName") {
            map.report("volumeName names an existing volume and needs external: true; Berth names its own volumes berth-<project>-<name>", field: "volumeName")
        }
        return spec
    }

    private enum CodingKeys: String, CodingKey {
        case driver, options, labels, reclaimPolicy, external, volumeName
    }

    public init(from decoder: any Decoder) throws {
        self = try Self.decodeInput(from: decoder, read: Self.read)
    }

    /// Encodes `external` and `volumeName` only when set, so the spec hash of every volume that
    /// does not use them is what it was before they existed.
    public func encode(to encoder: any Encoder) throws {
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encode(driver, forKey: .driver)
        try keyed.encode(options, forKey: .options)
        try keyed.encode(labels, forKey: .labels)
        try keyed.encode(reclaimPolicy, forKey: .reclaimPolicy)
        if external { try keyed.encode(external, forKey: .external) }
        try keyed.encodeIfPresent(volumeName, forKey: .volumeName)
    }
}

/// An S3 bucket, created and configured on the object storage endpoint.
public struct BucketSpec: Sendable, Hashable, Codable {
    /// Object expiry rules.
    public struct Lifecycle: Sendable, Hashable, Codable {
        /// Current objects expire this many days after creation.
        public var expireDays: Int?
        /// Non-current versions expire this many days after they were replaced.
        public var noncurrentExpireDays: Int?
        /// Multipart uploads not completed this many days after they began are aborted.
        public var abortIncompleteUploadsDays: Int?

        public init(expireDays: Int? = nil, noncurrentExpireDays: Int? = nil, abortIncompleteUploadsDays: Int? = nil) {
            self.expireDays = expireDays
            self.noncurrentExpireDays = noncurrentExpireDays
            self.abortIncompleteUploadsDays = abortIncompleteUploadsDays
        }

        /// No rule at all: the same as declaring no lifecycle.
        public var isEmpty: Bool { expireDays == nil && noncurrentExpireDays == nil && abortIncompleteUploadsDays == nil }
    }

    /// The bucket's name on the endpoint (S3 names are global there).
    public var bucketName: String
    public var versioning: Bool
    public var lifecycle: Lifecycle?
    public var tags: [String: String]
    /// `Retain` keeps the bucket when the resource goes away; `Delete` deletes it, when Berth created it.
    public var reclaimPolicy: ReclaimPolicy
    /// With `Delete`: also delete a bucket that still holds objects (they are deleted first).
    /// Without it a bucket that is not empty is kept, and a warning says so.
    public var deleteNonEmpty: Bool

    public init(
        bucketName: String,
        versioning: Bool = false,
        lifecycle: Lifecycle? = nil,
        tags: [String: String] = [:],
        reclaimPolicy: ReclaimPolicy = .retain,
        deleteNonEmpty: Bool = false
    ) {
        self.bucketName = bucketName
        self.versioning = versioning
        self.lifecycle = lifecycle
        self.tags = tags
        self.reclaimPolicy = reclaimPolicy
        self.deleteNonEmpty = deleteNonEmpty
    }

    /// Reads the spec; `defaultName` (`<project>-<name>`) is used when `bucketName` is absent.
    static func read(_ map: MapReader, defaultName: String) -> BucketSpec? {
        let name = map.optional("bucketName") { try $0.parse(BucketName.validated) } ?? defaultName
        if !map.has("bucketName") {
            do {
                _ = try BucketName.validated(defaultName)
            } catch {
                map.report("the default bucket name \"\(defaultName)\" (<project>-<name>) is not valid: \(error.issues[0].message); set bucketName")
            }
        }
        let versioning = map.optional("versioning", default: false) { try $0.bool() }
        let lifecycle = map.optional("lifecycle") { reader -> Lifecycle in
            let rules = try reader.map()
            defer { rules.finish() }
            return Lifecycle(
                expireDays: rules.optional("expireDays") { try $0.int(in: 1...36_500) },
                noncurrentExpireDays: rules.optional("noncurrentExpireDays") { try $0.int(in: 1...36_500) },
                abortIncompleteUploadsDays: rules.optional("abortIncompleteUploadsDays") { try $0.int(in: 1...36_500) }
            )
        }
        let tags = map.optional("tags", default: [:]) {
            try $0.dictionary(validateKey: BucketTag.validateKey) { try $0.parse(BucketTag.validatedValue) }
        }
        if tags.count > BucketTag.maximumUserTags {
            map.report("expected at most \(BucketTag.maximumUserTags) tags (S3 allows 50; Berth keeps \(50 - BucketTag.maximumUserTags) for its own), found \(tags.count)", field: "tags")
        }
        let reclaim = map.optional("reclaimPolicy", default: .retain) { try $0.choice(ReclaimPolicy.self) }
        let deleteNonEmpty = map.optional("deleteNonEmpty", default: false) { try $0.bool() }
        if deleteNonEmpty, reclaim != .delete {
            map.report("deleteNonEmpty applies only with reclaimPolicy Delete", field: "deleteNonEmpty")
        }
        return BucketSpec(bucketName: name, versioning: versioning, lifecycle: lifecycle?.isEmpty == true ? nil : lifecycle, tags: tags, reclaimPolicy: reclaim, deleteNonEmpty: deleteNonEmpty)
    }

    /// Only the key the decoder needs up front; encoding uses every field (synthesized `CodingKeys`).
    private enum NameKey: String, CodingKey { case bucketName }

    public init(from decoder: any Decoder) throws {
        let name = try decoder.container(keyedBy: NameKey.self).decode(String.self, forKey: .bucketName)
        self = try Self.decodeInput(from: decoder) { Self.read($0, defaultName: name) }
    }
}

/// S3 bucket naming rules (3–63 characters of lowercase letters, digits, dots and hyphens).
enum BucketName {
    static func validated(_ name: String) throws(ValidationError) -> String {
        guard (3...63).contains(name.count) else {
            throw ValidationError("expected a bucket name of 3 to 63 characters, found \(name.count) in \"\(name)\"")
        }
        let allowed = name.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" }
        guard allowed else {
            throw ValidationError("expected a bucket name of lowercase letters, digits, dots and hyphens, found \"\(name)\"")
        }
        guard let first = name.first, let last = name.last, first.isLetter || first.isNumber, last.isLetter || last.isNumber else {
            throw ValidationError("a bucket name starts and ends with a letter or digit, found \"\(name)\"")
        }
        guard !name.contains("..") else { throw ValidationError("a bucket name has no two dots in a row, found \"\(name)\"") }
        return name
    }
}

/// S3 tag rules: keys of 1–128 and values of up to 256 letters, digits, spaces and `_ . : / = + - @`;
/// the `aws:` and `berth.` prefixes are not for users.
enum BucketTag {
    /// S3 allows 50 tags; Berth's ownership tags take the rest (see ``BucketOwnership``).
    static let maximumUserTags = 45

    static func validateKey(_ key: String) throws(ValidationError) {
        guard (1...128).contains(key.count) else {
            throw ValidationError("expected a tag key of 1 to 128 characters, found \(key.count) in \"\(key)\"")
        }
        try checkCharacters(key, what: "tag key")
        for reserved in ["aws:", LabelKey.reservedPrefix] where key.lowercased().hasPrefix(reserved) {
            throw ValidationError("tag keys starting with \"\(reserved)\" are reserved, found \"\(key)\"")
        }
    }

    static func validatedValue(_ value: String) throws(ValidationError) -> String {
        guard value.count <= 256 else { throw ValidationError("expected a tag value of at most 256 characters, found \(value.count)") }
        try checkCharacters(value, what: "tag value")
        return value
    }

    private static func checkCharacters(_ text: String, what: String) throws(ValidationError) {
        let allowed = text.allSatisfy { $0.isLetter || $0.isNumber || $0 == " " || "_.:/=+-@".contains($0) }
        guard allowed else {
            throw ValidationError("expected a \(what) of letters, digits, spaces and _ . : / = + - @, found \"\(text)\"")
        }
    }
}
