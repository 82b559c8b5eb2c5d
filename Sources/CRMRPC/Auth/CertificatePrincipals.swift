/// Maps the subject alternative names of verified client certificates to principals, as
/// ``TokenAuthenticator`` maps tokens: mutual TLS between services, and any caller given a
/// certificate by the CA.
///
/// Names are written as OpenSSL prints them: `URI:spiffe://brokerage-crm/products`,
/// `DNS:ops.example.com`, `email:ops@example.com`, `IP Address:10.0.0.5`. The first of a
/// certificate's names that is configured decides; a certificate none of whose names is configured
/// authenticates nobody (its calls need a token).
public struct CertificatePrincipals: Sendable {
    /// One configured name and who a certificate carrying it stands for.
    public struct Entry: Sendable, Hashable, Codable {
        public var subjectAlternativeName: String
        public var principal: Principal

        public init(subjectAlternativeName: String, principal: Principal) {
            self.subjectAlternativeName = subjectAlternativeName
            self.principal = principal
        }
    }

    private let principalsByName: [String: Principal]

    public init(entries: [Entry]) {
        var table: [String: Principal] = [:]
        for entry in entries {
            table[entry.subjectAlternativeName] = entry.principal
        }
        self.principalsByName = table
    }

    /// Maps no certificate.
    public static let none = CertificatePrincipals(entries: [])

    public var isEmpty: Bool { principalsByName.isEmpty }

    /// The principal of a certificate with these names, if one of them is configured.
    public func principal(forNames names: [String]) -> Principal? {
        for name in names {
            if let principal = principalsByName[name] { return principal }
        }
        return nil
    }
}
