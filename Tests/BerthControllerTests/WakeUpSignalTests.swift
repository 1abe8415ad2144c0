import BerthController
import Foundation
import Testing

@Suite("WakeUpSignal: coalesced wake-ups for the one waiting loop")
struct WakeUpSignalTests {
    @Test func reasonsFiredBeforeTheWaitAreReturnedAtOnceAndCoalesced() async {
        // given
        let signal = WakeUpSignal()
        signal.fire(.engine)
        signal.fire(.engine)
        signal.fire(.store)
        let clock = ContinuousClock()
        let start = clock.now

        // when
        let reasons = await signal.wait(until: start + .seconds(30))

        // then: at once, not at the deadline (which would add `.timer`)
        #expect(reasons == [.engine, .store])
    }

    @Test func eachWaitReturnsOnlyWhatFiredSinceTheLastOne() async {
        // given
        let signal = WakeUpSignal()
        signal.fire(.reload)
        _ = await signal.wait(until: ContinuousClock.now + .seconds(30))
        signal.fire(.store)

        // when
        let reasons = await signal.wait(until: ContinuousClock.now + .seconds(30))

        // then
        #expect(reasons == [.store])
    }

    @Test func returnsTimerAtTheDeadline() async {
        // given
        let signal = WakeUpSignal()
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(100)

        // when
        let reasons = await signal.wait(until: deadline)

        // then
        #expect(reasons == [.timer])
        #expect(clock.now >= deadline)
    }

    @Test func aFireFromAnotherTaskWakesTheWaiter() async {
        // given
        let signal = WakeUpSignal()
        let start = ContinuousClock().now

        // when
        async let reasons = signal.wait(until: start + .seconds(30))
        try? await Task.sleep(for: .milliseconds(50))
        signal.fire(.engine)

        // then: woken by the fire, not by the deadline (which would add `.timer`)
        #expect(await reasons == [.engine])
    }

    @Test func cancellingTheWaiterWakesItForShutdown() async {
        // given
        let signal = WakeUpSignal()
        let waiter = Task { await signal.wait(until: ContinuousClock.now + .seconds(30)) }
        try? await Task.sleep(for: .milliseconds(50))

        // when
        waiter.cancel()

        // then
        #expect(await waiter.value == [.shutdown])
    }
}
