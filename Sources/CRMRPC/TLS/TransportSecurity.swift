/// How a server's connections are carried: TLS, or plaintext when configured so explicitly.
public enum ServerSecurity: Sendable {
    case tls(ServerTLSContext)
    /// Refused on an address other than loopback unless `onNetwork` says so: plaintext carries
    /// tokens and customers' data readable by anyone on the path.
    case plaintext(onNetwork: Bool = false)

    var tlsContext: ServerTLSContext? {
        if case let .tls(context) = self { return context }
        return nil
    }
}

/// How a client's connections are carried: TLS, or plaintext when configured so explicitly.
public enum ClientSecurity: Sendable {
    case tls(ClientTLSContext)
    /// Refused towards an address other than loopback unless `onNetwork` says so.
    case plaintext(onNetwork: Bool = false)

    var tlsContext: ClientTLSContext? {
        if case let .tls(context) = self { return context }
        return nil
    }
}
