import Synchronization

/// The server's ``ServerCredentials``, replaceable while connections are open (SIGHUP). Each
/// replacement bumps a generation that connections compare with an atomic load per call, so they
/// keep their resolved callers between reloads and drop them at the next call after one.
final class CredentialStore: Sendable {
    private let state: Mutex<(generation: Int, credentials: ServerCredentials)>
    private let currentGeneration = Atomic<Int>(0)
    /// The per-principal buckets; emptied on reload, when the limits may have changed.
    let limiter = PrincipalRateLimiter()

    init(_ credentials: ServerCredentials) {
        state = Mutex((0, credentials))
    }

    var generation: Int { currentGeneration.load(ordering: .acquiring) }

    /// The credentials in force and their generation.
    func snapshot() -> (generation: Int, credentials: ServerCredentials) {
        state.withLock { $0 }
    }

    func replace(with credentials: ServerCredentials) {
        state.withLock { value in
            value = (value.generation + 1, credentials)
            currentGeneration.store(value.generation, ordering: .releasing)
        }
        limiter.reset()
    }
}
