/// One thing a customer did towards a product family, or a manager did towards the customer: a
/// product page viewed, a service contact, an order. What the per-family behaviour features are
/// computed from, in matching's copy (profiles' event log for views and contacts, products' feed
/// for orders), kept small because a replica holds every customer's recent ones in memory.
struct BehaviourEvent: Sendable, Hashable {
    enum Kind: UInt8, Sendable {
        case view = 1
        case contact = 2
        case subscription = 3
        case redemption = 4
    }

    /// When it happened (unix millis).
    let at: Int64
    /// The order's amount in fen; 0 for views and contacts.
    let amountFen: Int64
    let kind: Kind
    /// The product family (``ProductFamilies``); -1 for a contact about no product in particular,
    /// or a product of no known family.
    let family: Int8

    init(at: Int64, kind: Kind, family: Int?, amountFen: Int64 = 0) {
        self.at = at
        self.kind = kind
        self.family = Int8(family ?? -1)
        self.amountFen = amountFen
    }

    /// Time order, then a fixed order among events of the same instant, so a list sorted by it is
    /// the same whatever order the events arrived in.
    static func precedes(_ a: BehaviourEvent, _ b: BehaviourEvent) -> Bool {
        (a.at, a.kind.rawValue, a.family, a.amountFen) < (b.at, b.kind.rawValue, b.family, b.amountFen)
    }
}
