import CRMProtos

extension ProfilesEventIdentity.Kind {
    /// The kinds of profiles event compensation records under their identity: trades and margin
    /// interest as income, fund transfers as flows. Other events (positions, views, …) have no key
    /// here, so they are never looked up among the recorded keys.
    static let compensated: Set<Self> = [.trade, .marginInterest, .fundTransfer]
}
