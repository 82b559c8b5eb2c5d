import Synchronization
import Testing
@testable import ProfilesService

/// The gate the dimension updaters take turns through: at most its slots inside, the waiting ones
/// let in by arrival as slots free up.
@Suite struct AsyncGateTests {
    /// Bodies that stay inside the gate until the test lets each one go.
    final class Bodies: Sendable {
        let entered = Mutex<[Int]>([])
        let exits = Mutex<[Int: CheckedContinuation<Void, Never>]>([:])

        func body(_ id: Int) async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                exits.withLock { $0[id] = continuation }
                entered.withLock { $0.append(id) }
            }
        }

        func release(_ id: Int) {
            let exit = exits.withLock { $0.removeValue(forKey: id) }
            exit?.resume()
        }

        var inside: [Int] { entered.withLock { $0 } }
    }

    private func until(_ condition: () -> Bool) async {
        while !condition() { await Task.yield() }
    }

    @Test(arguments: [1, 2, 3])
    func admitsAtMostItsSlotsAndThenByArrival(slots: Int) async throws {
        let gate = AsyncGate(slots: slots)
        let bodies = Bodies()
        let callers = slots + 3
        var tasks: [Task<Void, any Error>] = []
        for id in 0..<callers {
            tasks.append(Task { try await gate.run { await bodies.body(id) } })
            if id < slots {
                await until { bodies.inside.count >= id + 1 }
            } else {
                // Either it waits (the gate holds) or it got in (it does not): whichever comes first.
                let waiting = id - slots + 1
                await until { gate.waitingCount == waiting || bodies.inside.count > slots }
            }
        }
        #expect(bodies.inside == Array(0..<slots))
        #expect(gate.waitingCount == 3)
        // Each slot freed lets in the next caller by arrival, never two.
        for (freed, next) in zip(0..<3, slots..<callers) {
            bodies.release(freed)
            await until { bodies.inside.count >= next + 1 }
            #expect(bodies.inside.count == next + 1)
            #expect(bodies.inside.last == next)
            #expect(gate.waitingCount == callers - next - 1)
        }
        for id in 0..<callers { bodies.release(id) }
        for task in tasks { try await task.value }
        #expect(gate.waitingCount == 0)
        // Free again: a new caller goes straight in.
        let again = try await gate.run { 7 }
        #expect(again == 7)
    }
}
