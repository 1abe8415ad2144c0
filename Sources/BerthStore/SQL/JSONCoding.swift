import BerthCore
import Foundation

/// JSON for the columns that hold documents: sorted keys, so an unchanged document is the same text.
enum Coding {
    /// One encoder and one decoder for every call (both are thread-safe): their options never
    /// change after this, and making one per value showed in a submit's profile.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }()

    static func encode(_ value: some Encodable) throws(StoreError) -> String {
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw .invalidArgument("the value cannot be encoded as JSON: \(error)")
        }
    }

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()

    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws(StoreError) -> T {
        do {
            return try decoder.decode(type, from: Data(text.utf8))
        } catch {
            throw .invalidStoredData("a stored \(T.self) is not valid JSON: \(error)")
        }
    }

    static func encodeResource(_ resource: Resource) throws(StoreError) -> String { try encode(resource) }

    /// Stored documents and specs are read with the manifest reader's JSON path: the same checks
    /// as on the way in, at a fraction of `JSONDecoder`'s cost (it throws and catches an error for
    /// every type it tries on every value).
    static func decodeResource(_ text: String) throws(StoreError) -> Resource {
        try readStored(Resource.self) { () throws(ValidationError) in try Resource(json: text) }
    }

    /// Jobs read again and again (a client polling its job, the controller's passes) and jobs
    /// submitted from one template share their spec text: each text is read and validated once.
    static func decodeJobSpec(_ text: String) throws(StoreError) -> JobSpec {
        try decodedSpecs.value(for: text) { () throws(StoreError) in
            try readStored(JobSpec.self) { () throws(ValidationError) in try JobSpec(json: text) }
        }
    }

    /// The stored spec text `stored` of `spec` with its literal env values hidden, encoded once
    /// per text.
    static func shownSpecJSON(_ spec: JobSpec, stored: String) -> String {
        // Encoding a spec that was encoded before cannot fail; were it to, nothing is shown.
        shownSpecs.value(for: stored) { (try? encode(spec.hidingLiteralEnv())) ?? "{}" }
    }

    private static let decodedSpecs = SpecTextMemo<JobSpec>(capacity: 512)
    private static let shownSpecs = SpecTextMemo<String>(capacity: 512)

    private static func readStored<T>(_ type: T.Type, _ read: () throws(ValidationError) -> T) throws(StoreError) -> T {
        do {
            return try read()
        } catch {
            throw .invalidStoredData("a stored \(T.self) no longer validates: \(error)", underlying: error)
        }
    }

    /// `CronJob/qfield/runcrons`: names and projects hold no `/`.
    static func encodeResourceID(_ id: ResourceID) -> String { "\(id.kind.rawValue)/\(id.project)/\(id.name)" }

    static func decodeResourceID(_ text: String) throws(StoreError) -> ResourceID {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, let kind = ResourceKind(rawValue: String(parts[0])) else {
            throw .invalidStoredData("a resource id \(text) is not Kind/project/name")
        }
        return ResourceID(kind: kind, project: String(parts[1]), name: String(parts[2]))
    }
}
