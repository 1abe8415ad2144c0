import Foundation
import Synchronization

/// Unique ids that sort by creation time: 48 bits of milliseconds since 1970 and 80 random bits,
/// 26 lower-case Crockford base32 characters (ULID's layout). Within one millisecond a process
/// increments the random part, so its ids stay strictly increasing; ids made by several processes
/// in the same millisecond sort in an arbitrary but fixed order. Lower case and `[0-9a-z]` only,
/// so an id fits in a Docker container name.
enum StoreID {
    private static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)
    private static let last = Mutex<(milliseconds: UInt64, high: UInt16, low: UInt64)>((0, 0, 0))

    static func make(now: Date = Date()) -> String {
        let milliseconds = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        let (time, high, low) = last.withLock { last -> (UInt64, UInt16, UInt64) in
            if milliseconds <= last.milliseconds {
                // Same (or an earlier) millisecond: keep the last time and count up.
                let (low, overflow) = last.low.addingReportingOverflow(1)
                last.low = low
                if overflow { last.high &+= 1 }
            } else {
                last = (milliseconds, UInt16.random(in: 0 ... .max) >> 1, UInt64.random(in: 0 ... .max))
            }
            return (last.milliseconds, last.high, last.low)
        }
        // 128 bits: time (48) | high (16) | low (64); 26 characters of 5 bits cover 130 bits.
        var upper = (time << 16) | UInt64(high)
        var lower = low
        var characters = [UInt8](repeating: 0, count: 26)
        for index in stride(from: 25, through: 0, by: -1) {
            characters[index] = alphabet[Int(lower & 31)]
            lower = (lower >> 5) | ((upper & 31) << 59)
            upper >>= 5
        }
        return String(decoding: characters, as: UTF8.self)
    }
}
