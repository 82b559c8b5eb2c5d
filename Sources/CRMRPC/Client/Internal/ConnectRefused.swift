/// A connect that cannot succeed by waiting: the server's certificate was refused, or plaintext was
/// asked for towards the network. A call that meets only such endpoints fails at once with the
/// reason instead of backing off until its deadline (a test client has none, and an operator wants
/// the reason, not a timeout).
struct ConnectRefused: Error, CustomStringConvertible {
    let error: RPCError

    var description: String { error.description }
}
