import Synchronization

/// Whether a service can answer from complete state yet, and if not, why.
///
/// A service whose answers depend on state it builds at start-up (matching's copy of profiles and
/// products) must not answer from a half-built copy: a NOT_FOUND for a customer it has not loaded
/// yet looks exactly like a customer that does not exist, and a client would not retry it. While
/// not ready the server answers every method that is not marked as serving while starting with
/// UNAVAILABLE (retryable, nothing executed), and Health/Check says NOT_SERVING with the reason in
/// its details (`not_serving_reason`).
public final class ServiceReadiness: Sendable {
    /// Read on every call: an atomic load, the reason's lock only while starting.
    private let ready: Atomic<Bool>
    private let reason: Mutex<String?>

    /// Starts not ready, for `reason` (e.g. "loading its copy from the store").
    public init(notReadyBecause reason: String) {
        self.ready = Atomic(false)
        self.reason = Mutex(reason)
    }

    private init() {
        self.ready = Atomic(true)
        self.reason = Mutex(nil)
    }

    /// A readiness that is ready from the start: services whose every answer reads their store.
    public static var ready: ServiceReadiness { ServiceReadiness() }

    /// nil once ready; else why not.
    public var notReadyReason: String? {
        if ready.load(ordering: .acquiring) { return nil }
        return reason.withLock { $0 } ?? "starting"
    }

    public var isReady: Bool { ready.load(ordering: .acquiring) }

    /// Still starting, now for `reason` (progress shown by Health/Check). Has no effect once ready:
    /// a service does not go back to starting.
    public func notReady(because reason: String) {
        self.reason.withLock { $0 = reason }
    }

    public func markReady() {
        reason.withLock { $0 = nil }
        ready.store(true, ordering: .releasing)
    }
}
