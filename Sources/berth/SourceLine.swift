import BerthAPI
import BerthStore
import Foundation

/// The git source as `berth status` shows it above the resources: what runs and since when it
/// synced, whether it is pinned, and STALLED with the first error when the last attempt was
/// invalid or refused. Commit subjects and errors come from the repository: escaped.
enum SourceLine {
    static func text(_ source: SourceView, now: Date) -> String {
        var line = "source: \(source.url)"
        if let ref = source.ref { line += " \(ref)" }
        if let revision = source.appliedRevision {
            line += " at \(revision.shortSHA) \"\(escaped(revision.subject))\" (\(revision.outcome.rawValue))"
        } else if let applied = source.applied {
            line += " at \(applied.prefix(7))"
        } else {
            line += ", nothing applied yet"
        }
        line += source.lastSuccessfulSyncAt.map { ", last sync \(age(now.timeIntervalSince($0))) ago" } ?? ", never synced"
        var lines = [line]
        if let pinned = source.pinned { lines.append("PINNED to \(pinned.prefix(7)) (berth rollback --clear follows the ref again)") }
        if source.stalled, let attempted = source.attempted {
            let errors = source.errors ?? []
            var stalled = "STALLED at \(attempted.prefix(7))"
            if let first = errors.first { stalled += ": \(escaped(first))" }
            if errors.count > 1 { stalled += " (and \(errors.count - 1) more: berth history)" }
            lines.append(stalled)
        }
        if let error = source.lastFetchError { lines.append("last fetch failed: \(escaped(error))") }
        return lines.joined(separator: "\n")
    }

    /// `12s`, `5m`, `3h`, `2d`.
    static func age(_ seconds: TimeInterval) -> String {
        let whole = max(0, Int(seconds))
        switch whole {
        case ..<60: return "\(whole)s"
        case ..<3600: return "\(whole / 60)m"
        case ..<86_400: return "\(whole / 3600)h"
        default: return "\(whole / 86_400)d"
        }
    }

    private static func escaped(_ text: String) -> String {
        TerminalText.escaped(text, keepingLines: false)
    }
}
