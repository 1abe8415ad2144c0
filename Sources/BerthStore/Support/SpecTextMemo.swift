import Synchronization

/// Values worked out from stored spec texts, each once per text; emptied when full (a bound, not
/// an LRU: the texts that keep being read are back after one read each).
final class SpecTextMemo<Value: Sendable>: Sendable {
    private let values = Mutex<[String: Value]>([:])
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The value for `text`, from `compute` the first time.
    func value<Failure: Error>(for text: String, _ compute: () throws(Failure) -> Value) throws(Failure) -> Value {
        if let value = values.withLock({ $0[text] }) { return value }
        let value = try compute()
        values.withLock { values in
            if values.count >= capacity { values.removeAll(keepingCapacity: true) }
            values[text] = value
        }
        return value
    }
}
