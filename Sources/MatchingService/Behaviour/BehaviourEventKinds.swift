import CRMProtos

extension ProfilesEventIdentity.Kind {
    /// The kinds of profiles event the copy stores in `behaviour` under their identity: product
    /// views and service contacts. Any other event in the log has no key here and is skipped.
    static let behaviour: Set<Self> = [.productView, .serviceContact]
}
