import CompensationSettlement
/// Runs the writes that shape a settlement one at a time: settling a month, and changes to managers,
/// assignments, schemes and coefficients. A settlement reads all of those in one transaction and
/// writes the closing in another step of the same call; with the gate, nothing they read can change
/// in between, so a change can never slip into a month as it closes. (Feed writes need no gate:
/// income recorded during a settlement simply gets a later sequence and lands in the next month.)
actor SerialGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Runs `body` once every earlier caller's body has finished.
    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        } else {
            busy = true
        }
        defer { handOver() }
        return try await body()
    }

    /// Wakes the next waiter (who inherits `busy`), or frees the gate.
    private func handOver() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
