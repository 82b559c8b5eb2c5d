/// How many calls per second each principal may make, so one runaway caller cannot starve the
/// others: a token bucket per principal name, filled at `callsPerSecond` up to `burst`. A call that
/// finds the bucket empty is refused RESOURCE_EXHAUSTED without running.
public struct RateLimits: Sendable, Hashable, Codable {
    public struct Limit: Sendable, Hashable, Codable {
        public var callsPerSecond: Double
        /// Calls allowed at once after a quiet spell; defaults to one second's worth (at least 1).
        public var burst: Double?

        public init(callsPerSecond: Double, burst: Double? = nil) {
            self.callsPerSecond = callsPerSecond
            self.burst = burst
        }

        var capacity: Double { max(1, burst ?? callsPerSecond) }

        /// The rate as a person writes it: `500`, `0.5`.
        var rateText: String {
            callsPerSecond == callsPerSecond.rounded() && abs(callsPerSecond) < 1e15 ? String(Int64(callsPerSecond)) : String(callsPerSecond)
        }
    }

    /// For every principal not named in ``principals``; nil for no limit.
    public var `default`: Limit?
    /// By principal name (`trading-system`, `manager:M0001`).
    public var principals: [String: Limit]

    public init(default: Limit? = nil, principals: [String: Limit] = [:]) {
        self.default = `default`
        self.principals = principals
    }

    /// No limits at all.
    public static let unlimited = RateLimits()

    private enum CodingKeys: String, CodingKey {
        case `default`, principals
    }

    /// Either key may be left out of the configuration file.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.default = try container.decodeIfPresent(Limit.self, forKey: .default)
        self.principals = try container.decodeIfPresent([String: Limit].self, forKey: .principals) ?? [:]
    }

    public func limit(for principal: Principal) -> Limit? {
        principals[principal.name] ?? `default`
    }

    /// The first setting that cannot work, for a configuration error naming it.
    public var problem: String? {
        let all = [("default", `default`)] + principals.sorted { $0.key < $1.key }.map { ("principals.\($0.key)", Optional($0.value)) }
        for (name, limit) in all {
            guard let limit else { continue }
            if !(limit.callsPerSecond > 0) || !limit.callsPerSecond.isFinite {
                return "rateLimits.\(name).callsPerSecond must be a positive number"
            }
            if let burst = limit.burst, !(burst >= 1) || !burst.isFinite {
                return "rateLimits.\(name).burst must be at least 1"
            }
        }
        return nil
    }
}
