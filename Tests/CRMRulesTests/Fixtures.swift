import CRMRules

/// The schema most tests use: the firm's usual dimensions, one of each kind.
let customerSchema: RuleSchema = [
    "age": .number,
    "position_ratio": .number,
    "trade_count_90d": .number,
    "asset_tier": .ordered(["bronze", "silver", "gold", "platinum", "diamond"]),
    "risk_tolerance": .ordered(["C1", "C2", "C3", "C4", "C5"]),
    "status": .categories(["active", "frozen", "closed"]),
    "province": .anyCategory,
    "is_vip": .boolean,
]

/// Parses a rule the test knows to be valid; a refusal fails the test through the thrown error.
func rule(_ text: String, schema: RuleSchema? = nil) throws -> Rule {
    try Rule.parse(text, schema: schema)
}

/// The error a refused text throws, or nil when it is accepted.
func parseError(_ text: String, schema: RuleSchema? = nil) -> RuleError? {
    do {
        _ = try Rule.parse(text, schema: schema)
        return nil
    } catch {
        return error
    }
}

/// SplitMix64: a small seeded generator, so the randomised tests see the same data on every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
