import Foundation

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
func ms(_ value: Double) -> String { value.isNaN ? "—" : String(format: value < 0.01 ? "%.2f ms" : "%.1f ms", value * 1000) }
func msSigned(_ value: Double) -> String { String(format: "%+.1f ms", value * 1000) }

/// The length of the union of the spans, clipped to [from, to].
func covered(_ spans: [Span], from: Instant, to: Instant) -> Double {
    let clipped = spans.compactMap { span -> (Instant, Instant)? in
        let begin = max(span.begin, from), end = min(span.end, to)
        return begin < end ? (begin, end) : nil
    }.sorted { $0.0 < $1.0 }
    var total = 0.0
    var current: (Instant, Instant)?
    for span in clipped {
        if let open = current, span.0 <= open.1 {
            current = (open.0, max(open.1, span.1))
        } else {
            if let open = current { total += seconds(open.1 - open.0) }
            current = span
        }
    }
    if let open = current { total += seconds(open.1 - open.0) }
    return total
}
