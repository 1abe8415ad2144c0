import Foundation

/// Part 4 (issue 20): `keys × perKey` trivial jobs, job `i` with the concurrency key
/// `key-(i mod keys)` (limit 1: submitted round-robin, a key's jobs wait for each other), against
/// as many jobs without keys, through the same runner, in `rounds` alternating rounds so both see
/// the same machine load. Returns the markdown table.
func concurrencyKeyPart(_ queues: [Queue], keys: Int, perKey: Int, rounds: Int) async throws -> String {
    let total = keys * perKey
    var lines = [
        "### Concurrency keys: \(keys) keys × \(perKey) jobs (key limit 1) against the same \(total) jobs without keys, \(rounds) alternating rounds\n",
        "| store | jobs | without keys: wall time | jobs/s | with keys: wall time | jobs/s | with / without (target ≥ 90%) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    var first = 200_000
    for queue in queues {
        var plain = 0.0, keyed = 0.0
        for round in 0..<rounds {
            // Whole keys per round, so each key's jobs wait for each other within one round.
            let roundKeys = keys / rounds + (round < keys % rounds ? 1 : 0)
            let count = roundKeys * perKey
            note("concurrency keys round \(round + 1)/\(rounds) on \(queue.name): \(count) jobs without keys")
            plain += try await berthBatch(queue, first: first, count: count)
            first += count
            note("concurrency keys round \(round + 1)/\(rounds) on \(queue.name): \(count) jobs over \(roundKeys) keys")
            keyed += try await berthBatch(queue, first: first, count: count, keys: roundKeys)
            first += count
        }
        try await queue.checkAllFinished()
        let plainRate = Double(total) / plain, keyedRate = Double(total) / keyed
        lines.append(
            "| \(queue.name) | \(total) | \(String(format: "%.1f s", plain)) | \(String(format: "%.2f", plainRate)) | \(String(format: "%.1f s", keyed)) | "
                + "\(String(format: "%.2f", keyedRate)) | \(String(format: "%.0f%%", keyedRate / plainRate * 100)) |")
    }
    return lines.joined(separator: "\n")
}
