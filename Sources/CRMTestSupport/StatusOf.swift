import CRMRPC

/// The status of a call (or a handler or rule called directly) that must fail; nil when it
/// succeeded. Domain refusals and other status-carrying errors are read as the status the runtime
/// would send; anything else is UNKNOWN with its description.
public func statusOf(_ call: () async throws -> Void) async -> RPCError? {
    do {
        try await call()
        return nil
    } catch let error as RPCError {
        return error
    } catch let error as any RPCErrorConvertible {
        return error.rpcError
    } catch {
        return RPCError(.unknown, "\(error)")
    }
}
