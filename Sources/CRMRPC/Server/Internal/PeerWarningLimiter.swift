import NIOCore
import Synchronization

/// Keeps a hostile or broken peer from flooding the log: at most `burst` warnings per peer host in
/// each `window`; the rest are counted, and the next warning let through says how many were held
/// back. Shared by every connection of a server (a probe opens many connections from one host).
final class PeerWarningLimiter: Sendable {
    struct Decision: Equatable {
        /// Whether to write this warning.
        var log: Bool
        /// Warnings from this host held back since the last one written.
        var suppressed: Int
    }

    private struct Window {
        var start: NIODeadline
        var written: Int
        var suppressed: Int
    }

    let burst: Int
    let window: TimeAmount
    /// Hosts remembered at most; beyond it the oldest windows are forgotten.
    let capacity: Int
    private let windows = Mutex<[String: Window]>([:])

    init(burst: Int = 5, window: TimeAmount = .seconds(60), capacity: Int = 10_000) {
        self.burst = burst
        self.window = window
        self.capacity = capacity
    }

    /// Hosts remembered now (tests).
    var hostCount: Int { windows.withLock { $0.count } }

    /// Whether a warning about `host` may be written now.
    func admit(host: String, now: NIODeadline = .now()) -> Decision {
        windows.withLock { windows in
            var entry = windows[host] ?? Window(start: now, written: 0, suppressed: 0)
            if now - entry.start >= window {
                entry.start = now
                entry.written = 0
            }
            let decision: Decision
            if entry.written < burst {
                entry.written += 1
                decision = Decision(log: true, suppressed: entry.suppressed)
                entry.suppressed = 0
            } else {
                entry.suppressed += 1
                decision = Decision(log: false, suppressed: entry.suppressed)
            }
            if windows[host] == nil, windows.count >= capacity {
                let expired = windows.filter { now - $0.value.start >= window }.map(\.key)
                for key in expired { windows[key] = nil }
                if windows.count >= capacity, let oldest = windows.min(by: { $0.value.start < $1.value.start })?.key { windows[oldest] = nil }
            }
            windows[host] = entry
            return decision
        }
    }
}
