import BerthCore

/// The companion containers compose stacks run beside their services, and what Berth does
/// instead: ofelia's job labels become CronJobs, autoheal is Berth's own restart of unhealthy
/// containers, and a certbot renew loop is pointed at Certificates.
enum CompanionConventions {
    /// A container Berth replaces and so leaves out.
    enum Companion {
        case autoheal
        case ofelia
    }

    /// A job ofelia would run, read from `ofelia.job-exec.<name>.*` or `ofelia.job-run.<name>.*` labels.
    struct OfeliaJob {
        var type: String
        var name: String
        /// The compose service whose labels declare the job.
        var carrier: String
        var settings: [String: (value: String, origin: ComposeOrigin)] = [:]
        var origin: ComposeOrigin
    }

    static func companion(image: String?) -> Companion? {
        guard let image else { return nil }
        let repository = image.split(separator: ":").first.map(String.init) ?? image
        if repository.hasSuffix("willfarrell/autoheal") { return .autoheal }
        if repository.hasSuffix("mcuadros/ofelia") || repository.hasSuffix("netresearch/ofelia") { return .ofelia }
        return nil
    }

    /// Why a companion container is left out.
    static func dropNote(_ companion: Companion) -> String {
        switch companion {
        case .autoheal:
            "the autoheal container is left out: Berth itself restarts containers whose health check reports unhealthy"
        case .ofelia:
            "the ofelia container is left out: its job labels are CronJobs (a job in ofelia's own config file is not read: declare it as a CronJob)"
        }
    }

    static func isCertbotRenewLoop(image: String?, words: [String]) -> Bool {
        guard let image, image.hasPrefix("certbot/") else { return false }
        return words.contains { $0.contains("renew") }
    }

    /// Takes the convention labels out of `service.labels`: autoheal ones become a note, ofelia
    /// ones the returned jobs; the rest stay labels.
    static func takeLabels(of service: inout ServiceTranslation, log: inout WarningLog) -> [OfeliaJob] {
        var jobs: [String: OfeliaJob] = [:]
        var kept: [InputNode.Entry] = []
        let labelsOrigin = service.labelsOrigin ?? service.document.origin
        for entry in service.labels {
            let origin = labelsOrigin.child(entry.key, at: entry.fieldLocation)
            let value = entry.value.scalarText ?? ""
            if entry.key == "autoheal" || entry.key.hasPrefix("autoheal.") {
                if entry.key == "autoheal", entry.value.isTrue {
                    service.document.notes.append("autoheal=true: Berth restarts this service's containers when they turn unhealthy, whatever restart says")
                    if service.document.spec["healthcheck"] == nil {
                        log.warn(origin, "autoheal restarts unhealthy containers, and this service declares no health check: only one in its image counts")
                    }
                } else if entry.key != "autoheal" {
                    log.warn(origin, "not translated: Berth restarts unhealthy containers with its own stop signal and grace period")
                }
                continue
            }
            guard entry.key.hasPrefix("ofelia.") else {
                kept.append(entry)
                continue
            }
            let parts = entry.key.split(separator: ".", maxSplits: 2).map(String.init)
            if parts.count == 3, parts[1].hasPrefix("job-") {
                let job = parts[2].split(separator: ".", maxSplits: 1).map(String.init)
                guard job.count == 2 else {
                    log.warn(origin, "an ofelia job label is ofelia.<type>.<job>.<setting>; left out")
                    continue
                }
                let key = "\(parts[1]).\(job[0])"
                jobs[key, default: OfeliaJob(type: parts[1], name: job[0], carrier: service.composeName, origin: origin)]
                    .settings[job[1]] = (value, origin)
            } else if entry.key != "ofelia.enabled" {
                log.warn(origin, "not translated: an ofelia setting Berth has no use for")
            }
        }
        service.labels = kept
        return jobs.keys.sorted().compactMap { jobs[$0] }
    }

    /// An ofelia schedule (with or without its seconds field, or a `@` macro) in Berth's cron grammar.
    static func schedule(_ text: String, origin: ComposeOrigin, log: inout WarningLog) -> String {
        let fields = text.split(separator: " ")
        guard !text.hasPrefix("@"), fields.count == 6 else { return text }
        if fields[0] != "0" {
            log.warn(origin, "Berth schedules by the minute: the seconds field \(String(fields[0]).quotedForMessage) of \(text.quotedForMessage) is left out")
        }
        return fields.dropFirst().joined(separator: " ")
    }
}
