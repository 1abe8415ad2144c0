/// Wake-ups as they travel through `NOTIFY`.
extension StoreNotification {
    /// The NOTIFY payload: `j:<project>`, `r:<Kind>/<project>/<name>`, `c:<job id>`, `p:` (a pin).
    var payload: String {
        switch self {
        case .jobSubmitted(let project): "j:\(project)"
        case .resourceChanged(let id): "r:\(Coding.encodeResourceID(id))"
        case .jobCancelRequested(let id): "c:\(id)"
        case .sourcePinned: "p:"
        case .resync: "s:"
        }
    }

    init?(payload: String) {
        let value = String(payload.dropFirst(2))
        switch payload.prefix(2) {
        case "j:": self = .jobSubmitted(project: value)
        case "r:":
            guard let id = try? Coding.decodeResourceID(value) else { return nil }
            self = .resourceChanged(id)
        case "c:": self = .jobCancelRequested(jobID: value)
        case "p:": self = .sourcePinned
        case "s:": self = .resync
        default: return nil
        }
    }
}
