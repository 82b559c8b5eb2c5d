@_exported import CRMContract
@_exported import CRMWire

/// # CRMRPC
///
/// The RPC runtime over ``CRMWire``'s frames, in three layers:
///
/// - **Transport** (`Server/Internal`, `Client/Internal`): NIO channel handlers that turn frames into
///   calls and back, enforce limits, deadlines and backpressure, and drain on shutdown.
/// - **Call** (``CallContext``, ``ResponseStreamWriter``, ``CallOptions``): one call's lifecycle.
/// - **Stubs** (``Router`` registrations on the server, ``RPCClient`` typed methods on the client).
///
/// It knows nothing of customers or products: services register typed handlers on a ``Router`` and
/// call each other through ``RPCClient``.
public enum CRMRPCModule {}

public typealias HealthCheckRequest = Crm_Rpc_V1_HealthCheckRequest
public typealias HealthCheckResponse = Crm_Rpc_V1_HealthCheckResponse
public typealias ListMethodsRequest = Crm_Rpc_V1_ListMethodsRequest
public typealias ListMethodsResponse = Crm_Rpc_V1_ListMethodsResponse
