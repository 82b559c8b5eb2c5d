import Foundation

/// The caller a forwarded call is made for: a service that passes a call on (a profiles process
/// forwarding to the owner of a customer's partition) names the original caller in metadata, so
/// the owner checks roles, scopes and masks personal data exactly as if the caller had come
/// directly.
///
/// Only a caller holding ``Principal/serviceRole`` may name someone else; from anyone else the
/// metadata is refused PERMISSION_DENIED (the runtime checks this before the method's policy), so
/// a manager cannot claim to be head office by adding a header.
public enum ForwardedPrincipal {
    /// Metadata key: base64url (no padding) of the principal's JSON.
    public static let metadataKey = "crm-on-behalf-of"

    /// The metadata value naming `principal`.
    public static func encode(_ principal: Principal) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // A principal is strings and a set of strings: it always encodes.
        let data = (try? encoder.encode(principal)) ?? Data()
        return data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// What a call made for `context`'s caller carries: its request id (so the callee's log and
    /// audit records join the caller's) and, when there is one, the caller's principal.
    public static func metadata(forCallerOf context: CallContext) -> [MetadataEntry] {
        var metadata = [MetadataEntry(MetadataKeys.requestID, context.requestID)]
        if let principal = context.principal { metadata.append(MetadataEntry(metadataKey, encode(principal))) }
        return metadata
    }

    /// The principal a metadata value names, nil when it does not decode.
    public static func decode(_ text: String) -> Principal? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64) else { return nil }
        return try? JSONDecoder().decode(Principal.self, from: data)
    }
}
