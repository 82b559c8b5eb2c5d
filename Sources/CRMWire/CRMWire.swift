/// # CRMWire
///
/// The one codec every service and client shares. It knows three things and nothing of any service:
///
/// - **Frames**: a 4-byte big-endian unsigned length, then that many bytes of one ``Envelope``
///   (``FrameDecoder``, ``ByteBuffer/writeFrame(_:)``), with a maximum size checked before a body is
///   buffered (``WireLimits``).
/// - **Envelopes**: requests, responses, cancels, pings and go-aways, generated from
///   `proto/crm/wire/v1/envelope.proto` (type names `Crm_Wire_V1_*`, shortened here by typealiases).
/// - **Statuses**: the 17 canonical codes and ``RPCError``, the one error type at the RPC boundary.
///
/// proto/README.md is the byte-exact description of this module's output.
public enum CRMWireModule {}

public typealias Envelope = Crm_Wire_V1_Envelope
public typealias WireRequest = Crm_Wire_V1_Request
public typealias WireResponse = Crm_Wire_V1_Response
public typealias WireStatus = Crm_Wire_V1_Status
public typealias StatusCode = Crm_Wire_V1_StatusCode
public typealias FieldViolation = Crm_Wire_V1_FieldViolation
public typealias MetadataEntry = Crm_Wire_V1_MetadataEntry
