@testable import BerthAPI
import BerthStore
import Foundation
import Testing

/// How followed streams are bounded: per token, refused beyond its share, except that the web
/// UI's newest stream displaces the token's oldest UI stream (a page the browser has left).
@Suite("Follower slots") struct FollowerSlotsTests {
    static func token(_ id: String) -> TokenRecord {
        TokenRecord(id: id, name: id, scopes: [.read], project: nil, jobID: nil, createdAt: Date(), expiresAt: nil, lastUsedAt: nil, revokedAt: nil)
    }

    @Test func beyondItsShareATokenIsRefusedUntilAStreamEnds() throws {
        // given
        let slots = FollowerSlots(limit: 10, perToken: 2)
        let reader = Self.token("reader")
        var held = [try slots.take(reader), try slots.take(reader)]
        // then
        #expect(throws: APIError.self) { try slots.take(reader) }
        #expect(throws: APIError.self) { try slots.take(reader, displaceable: true) }
        // when one ends
        held.removeFirst()
        // then
        #expect(throws: Never.self) { _ = try slots.take(reader) }
        #expect(held.allSatisfy { !$0.isDisplaced })
    }

    @Test func theUIsNewestStreamDisplacesTheTokensOldestUIStreamNeverAnAPIOne() throws {
        // given: a token with one API stream and two of the UI, and another token's UI stream
        let slots = FollowerSlots(limit: 10, perToken: 3)
        let person = Self.token("person")
        let other = try slots.take(Self.token("other"), displaceable: true)
        let api = try slots.take(person)
        let first = try slots.take(person, displaceable: true)
        let second = try slots.take(person, displaceable: true)

        // when
        let third = try slots.take(person, displaceable: true)

        // then: the token's oldest UI stream gives way; nothing else does
        #expect(first.isDisplaced)
        #expect(!second.isDisplaced && !third.isDisplaced && !api.isDisplaced && !other.isDisplaced)
        // the API's streams are never displaced, nor do they displace
        #expect(throws: APIError.self) { try slots.take(person) }
        // and the next UI stream displaces the next oldest
        let fourth = try slots.take(person, displaceable: true)
        #expect(second.isDisplaced && !third.isDisplaced && !fourth.isDisplaced)
    }

    @Test func theTotalBoundHoldsForTheUIsStreamsToo() throws {
        // given
        let slots = FollowerSlots(limit: 2, perToken: 5)
        let held = [try slots.take(Self.token("one"), displaceable: true), try slots.take(Self.token("two"), displaceable: true)]
        // then
        #expect(throws: APIError.self) { try slots.take(Self.token("three"), displaceable: true) }
        #expect(held.count == 2)
    }
}
