import CRMServiceHost

/// The products service's settings (`settings` in services/products/config.json), validated at
/// start-up:
/// - `suitability.timeout_ms`: how long an order waits for matching's decision at most (3000; the
///   caller's own deadline shortens it).
struct ProductsSettings: Sendable {
    var suitabilityTimeoutMilliseconds = 3_000

    init(_ settings: [String: String]) throws {
        let reader = SettingsReader(settings)
        try reader.refuseUnknown(known: ["suitability.timeout_ms"])
        suitabilityTimeoutMilliseconds = try reader.integer("suitability.timeout_ms", default: 3_000, in: 1...600_000)
    }
}
