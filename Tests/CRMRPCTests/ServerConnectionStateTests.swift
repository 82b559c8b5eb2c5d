@testable import CRMRPC
import NIOCore
import Testing

/// The decisions of a server connection without a socket: admission, waiting for a slot, held
/// reads, cancellation, deadlines and the drain.
@Suite struct ServerConnectionStateTests {
    struct Request: ConnectionRequest, Equatable {
        var callID: UInt64
    }

    struct Call: ConnectionCall, Equatable {
        var deadline: NIODeadline?
    }

    typealias State = ServerConnectionState<Request, Call>

    /// Receives and starts `ids` as the handler does, returning those put to wait.
    static func receive(_ ids: [UInt64], into state: inout State, deadline: NIODeadline? = nil) -> [UInt64] {
        var waiting: [UInt64] = []
        for id in ids {
            if state.received(Request(callID: id)) {
                #expect(state.admit(callID: id, isHealthCheck: false) == .admit)
                state.started(id, Call(deadline: deadline))
            } else {
                waiting.append(id)
            }
        }
        return waiting
    }

    @Test func beyondTheLimitRequestsWaitReadsAreHeldAndBothResumeAsCallsEnd() {
        var state = State(maxConcurrentCalls: 2)
        let mayReadAtFirst = state.mayRead()
        #expect(mayReadAtFirst)
        #expect(Self.receive([1, 2, 3, 4], into: &state) == [3, 4])
        let mayReadWhenFull = state.mayRead()
        #expect(!mayReadWhenFull)
        #expect(state.readsHeld)

        // As the handler does: each request taken from the queue starts before the next is asked for.
        #expect(state.finish(1) != nil)
        #expect(state.nextWaiting() == Request(callID: 3))
        state.started(3, Call(deadline: nil))
        #expect(state.nextWaiting() == nil, "one slot freed starts one request")
        let resumeWhileFourWaits = state.resumeReading()
        #expect(!resumeWhileFourWaits, "request 4 still waits")

        #expect(state.finish(2) != nil)
        #expect(state.nextWaiting() == Request(callID: 4))
        state.started(4, Call(deadline: nil))
        let resumeWhenFull = state.resumeReading()
        #expect(!resumeWhenFull, "both slots are taken again")
        #expect(state.finish(3) != nil)
        #expect(state.nextWaiting() == nil)
        let resumeWithRoom = state.resumeReading()
        #expect(resumeWithRoom)
        #expect(!state.readsHeld)
        let resumeAgain = state.resumeReading()
        #expect(!resumeAgain, "a read is resumed once")
    }

    @Test func callIDZeroAndAReusedOpenIDAreProtocolViolations() {
        var state = State(maxConcurrentCalls: 4)
        guard case .violation = state.admit(callID: 0, isHealthCheck: false) else {
            Issue.record("call id 0 was admitted")
            return
        }
        _ = Self.receive([7], into: &state)
        guard case .violation = state.admit(callID: 7, isHealthCheck: false) else {
            Issue.record("an open call id was admitted again")
            return
        }
        #expect(state.finish(7) != nil)
        #expect(state.admit(callID: 7, isHealthCheck: false) == .admit, "an id may be used again once its call ended")
    }

    @Test func cancellingAWaitingRequestARunningCallAndAnUnknownOne() {
        var state = State(maxConcurrentCalls: 1)
        _ = Self.receive([1, 2], into: &state)
        guard case .waiting = state.cancel(2) else { Issue.record("request 2 was not waiting"); return }
        guard case .running = state.cancel(1) else { Issue.record("call 1 was not running"); return }
        guard case .unknown = state.cancel(1) else { Issue.record("call 1 was cancelled twice"); return }
        #expect(state.isIdle)
        #expect(state.finish(1) == nil, "a cancelled call's late result is dropped")
    }

    @Test func expiringEndsOnlyCallsPastTheirDeadlineAndNamesTheNextOne() {
        var state = State(maxConcurrentCalls: 8)
        let now = NIODeadline.uptimeNanoseconds(1_000_000_000)
        state.started(1, Call(deadline: now - .milliseconds(1)))
        state.started(2, Call(deadline: now + .milliseconds(50)))
        state.started(3, Call(deadline: now + .milliseconds(20)))
        state.started(4, Call(deadline: nil))
        let (expired, next) = state.expire(now: now)
        #expect(expired.map(\.callID) == [1])
        #expect(next == now + .milliseconds(20))
        #expect(!state.isRunning(1))
        #expect(state.isRunning(4), "a call without a deadline never expires")
        #expect(state.expire(now: now + .milliseconds(60)).expired.map(\.callID).sorted() == [2, 3])
    }

    @Test func theDrainNamesTheLastCallLetsOnlyHealthChecksInAndClosesWhenIdle() {
        var state = State(maxConcurrentCalls: 4)
        _ = Self.receive([5, 9], into: &state)
        let drain = state.beginDrain()
        #expect(drain?.lastCallID == 9)
        #expect(drain?.closeNow == false)
        #expect(state.beginDrain() == nil, "a drain begins once")
        #expect(state.admit(callID: 11, isHealthCheck: false) == .refuseDraining)
        #expect(state.admit(callID: 12, isHealthCheck: true) == .admit)
        #expect(!state.closesWhenIdle)
        _ = state.finish(5)
        _ = state.finish(9)
        #expect(state.closesWhenIdle)
    }

    @Test func anIdleConnectionClosesAtOnceOnDrainAndAbandoningLeavesNothing() {
        var idle = State(maxConcurrentCalls: 1)
        #expect(idle.beginDrain()?.closeNow == true)

        var busy = State(maxConcurrentCalls: 1)
        _ = Self.receive([1, 2, 3], into: &busy)
        let (running, waiting) = busy.abandonAll()
        #expect(running.map(\.callID) == [1])
        #expect(waiting.map(\.callID) == [2, 3])
        #expect(busy.isIdle)
    }
}
