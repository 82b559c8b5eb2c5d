/// The `audit` object of a service's configuration file.
public struct AuditSettings: Codable, Sendable, Hashable {
    /// Record audited calls (default true). Off only for measuring what the trail costs.
    public var enabled: Bool?
    /// How long records are kept before retention may remove them (once exported): 5 years by
    /// default, the regulator's usual minimum.
    public var retentionDays: Int?

    public static let defaultRetentionDays = 1_826

    public init(enabled: Bool? = nil, retentionDays: Int? = nil) {
        self.enabled = enabled
        self.retentionDays = retentionDays
    }

    public var isEnabled: Bool { enabled ?? true }
    public var retention: Int { retentionDays ?? Self.defaultRetentionDays }
}
