/// The text a consumer of profiles' event log stores an event under: the event's identity, not its
/// event id. Compensation keys income items and asset flows by it, matching its `behaviour` rows.
///
/// Why not the event id: each profiles process numbers its own event log, so once customers are
/// split across processes two different events carry the same id (keyed by id, the second would
/// be dropped as already applied), and an event whose partition moved to another process may come
/// back under a new id (applied twice). What is the same wherever and however often an event is
/// delivered is its identity: its kind, its customer and its idempotency key (unique per kind for
/// one customer, proto/README.md §17).
///
/// Why here, in CRMProtos: the identity is a fact of profiles' event messages (their kinds and
/// idempotency keys) that every consumer must write the same way, byte for byte, since the text is
/// stored in their databases; services may not import each other, and this pure function needs
/// nothing of the RPC runtime, so it sits beside the generated messages it reads rather than in
/// `CRMProfilesClient`, which is about reaching profiles processes.
///
/// The form, which compensation's statement lines show as `source_event_id`:
/// `pe:<kind>:<customer>:<idempotency key>` with a ``Kind`` raw value. The idempotency key comes
/// last and is taken verbatim, so it may hold any character; the customer id is the only part that
/// needs escaping: `%` becomes `%25` and `:` becomes `%3A`, so the third `:` always ends it and no
/// two identities share a text. Ordinary ids (`C000001`, `T-2025-03-01-17`) read unchanged. At most
/// 3 + 16 + 3 × 64 + 1 + 128 characters (profiles' limits on customer ids and keys); typically 25–40.
public enum ProfilesEventIdentity {
    /// The kinds of event consumers record by identity, as they appear in the text.
    public enum Kind: String, Sendable, CaseIterable {
        // Compensation's.
        case trade
        case marginInterest = "margin_interest"
        case fundTransfer = "fund_transfer"
        // Matching's.
        case productView = "product_view"
        case serviceContact = "service_contact"
    }

    /// The identity of an event of `kind` for `customerID` with `idempotencyKey`.
    public static func key(_ kind: Kind, customerID: String, idempotencyKey: String) -> String {
        "pe:\(kind.rawValue):\(escape(customerID)):\(idempotencyKey)"
    }

    /// The identity of a logged event whose kind is one of `kinds`; nil for any other event (each
    /// consumer keys only the kinds it records, and skips the rest before it looks them up).
    public static func key(of event: Crm_Profiles_V1_LoggedEvent, among kinds: Set<Kind>) -> String? {
        guard let parts = parts(of: event), kinds.contains(parts.kind) else { return nil }
        return key(parts.kind, customerID: parts.customerID, idempotencyKey: parts.idempotencyKey)
    }

    /// A logged event's kind, customer and idempotency key; nil for a kind without a ``Kind``.
    static func parts(of event: Crm_Profiles_V1_LoggedEvent) -> (kind: Kind, customerID: String, idempotencyKey: String)? {
        switch event.body {
        case .trade(let trade)?: return (.trade, trade.customerID, trade.idempotencyKey)
        case .marginInterest(let interest)?: return (.marginInterest, interest.customerID, interest.idempotencyKey)
        case .fundTransfer(let transfer)?: return (.fundTransfer, transfer.customerID, transfer.idempotencyKey)
        case .productView(let view)?: return (.productView, view.customerID, view.idempotencyKey)
        case .serviceContact(let contact)?: return (.serviceContact, contact.customerID, contact.idempotencyKey)
        default: return nil
        }
    }

    /// The parts of a text made by ``key(_:customerID:idempotencyKey:)``; nil for any other text
    /// (a legacy `pe:<event_id>`, an order's or a package's id). Splits on bytes, not characters: a
    /// key starting with a combining mark must not hide the `:` before it.
    public static func parse(_ key: String) -> (kind: Kind, customerID: String, idempotencyKey: String)? {
        let bytes = Array(key.utf8)
        let colon = UInt8(ascii: ":")
        guard bytes.starts(with: Array("pe:".utf8)),
              let kindEnd = bytes[3...].firstIndex(of: colon),
              let customerEnd = bytes[(kindEnd + 1)...].firstIndex(of: colon),
              let kind = Kind(rawValue: String(decoding: bytes[3..<kindEnd], as: UTF8.self)),
              let customer = unescape(String(decoding: bytes[(kindEnd + 1)..<customerEnd], as: UTF8.self))
        else { return nil }
        return (kind, customer, String(decoding: bytes[(customerEnd + 1)...], as: UTF8.self))
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

    /// The inverse of ``escape(_:)``; nil for a text `escape` never makes (a `%` not starting
    /// `%25` or `%3A`, or a bare `:`).
    static func unescape(_ text: String) -> String? {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: ":") }) else { return text }
        var result = String.UnicodeScalarView()
        var scalars = text.unicodeScalars[...]
        while let first = scalars.first {
            switch first {
            case ":":
                return nil
            case "%":
                let code = String(String.UnicodeScalarView(scalars.prefix(3)))
                switch code {
                case "%25": result.append("%")
                case "%3A": result.append(":")
                default: return nil
                }
                scalars = scalars.dropFirst(3)
            default:
                result.append(first)
                scalars = scalars.dropFirst()
            }
        }
        return String(result)
    }
}
