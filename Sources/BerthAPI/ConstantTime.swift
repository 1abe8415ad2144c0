/// Comparing secrets (CSRF values, webhook tokens' digests) in time that depends only on their
/// lengths, never on where they first differ.
package enum ConstantTime {
    package static func equal(_ left: some Collection<UInt8>, _ right: some Collection<UInt8>) -> Bool {
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
