import NIOCore
import Synchronization

/// Token buckets by principal name, shared by every connection of a server: a caller spreading its
/// calls over many connections gets one budget. Principals are configured names, so the table stays
/// as small as the configuration.
final class PrincipalRateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: NIODeadline
    }

    private let buckets = Mutex<[String: Bucket]>([:])

    /// Takes one call from `name`'s bucket if it has one; false means refuse the call.
    func admit(_ name: String, limit: RateLimits.Limit, now: NIODeadline = .now()) -> Bool {
        buckets.withLock { buckets in
            var bucket = buckets[name] ?? Bucket(tokens: limit.capacity, updated: now)
            let elapsed = Double((now - bucket.updated).nanoseconds) / 1e9
            bucket.tokens = min(limit.capacity, bucket.tokens + max(0, elapsed) * limit.callsPerSecond)
            bucket.updated = now
            let admitted = bucket.tokens >= 1
            if admitted { bucket.tokens -= 1 }
            buckets[name] = bucket
            return admitted
        }
    }

    func reset() {
        buckets.withLock { $0.removeAll() }
    }
}
