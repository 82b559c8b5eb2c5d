import CRMProtos

/// The key a product view or service contact from profiles' event log is stored under in
/// `behaviour`: the event's identity, not its event id.
///
/// Why not the event id (the `e<event id>` of stores written before partitions): each profiles
/// process numbers its own log, so with customers split across processes two different events
/// carry the same id (keyed by id, the second owner's would be dropped), and an event read again
/// from another process (a partition moved, or the copy following several owners after following
/// one) comes under another id (counted twice). Its kind, customer and idempotency key (unique per
/// kind for one customer) name one event wherever and however often it is read.
///
/// The same form as compensation's keys (`CompensationService.ProfilesEventIdentity`):
/// `pe:<kind>:<customer>:<idempotency key>`, kind `product_view` or `service_contact`, the customer
/// id with `%` → `%25` and `:` → `%3A` so the third `:` always ends it, the key verbatim. Services
/// share no module, so the few lines are written twice; the form is what must agree.
enum ProfilesEventKey {
    /// The key of a logged view or contact; nil for any other kind.
    static func key(of logged: Crm_Profiles_V1_LoggedEvent) -> String? {
        switch logged.body {
        case .productView(let view)?: return key("product_view", customerID: view.customerID, idempotencyKey: view.idempotencyKey)
        case .serviceContact(let contact)?: return key("service_contact", customerID: contact.customerID, idempotencyKey: contact.idempotencyKey)
        default: return nil
        }
    }

    static func key(_ kind: String, customerID: String, idempotencyKey: String) -> String {
        "pe:\(kind):\(escape(customerID)):\(idempotencyKey)"
    }

    /// `%` → `%25`, `:` → `%3A`, scalar by scalar; anything else as it is.
    static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: ":") }) else { return text }
        var escaped = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "%": escaped.append(contentsOf: "%25".unicodeScalars)
            case ":": escaped.append(contentsOf: "%3A".unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        return String(escaped)
    }
}
