import CRMProtos
import NIOCore

/// Asks whether a customer may buy a product: the suitability decision the order path waits for.
///
/// The service uses ``MatchingSuitabilityGate`` (the matching service over RPC); tests substitute a
/// deterministic one. A gate either returns matching's decision or throws the refusal the order
/// gets (UNAVAILABLE when no decision could be had): an order is never accepted unchecked.
protocol SuitabilityGate: Sendable {
    /// The decision, asked within `deadline` (the order call's own; nil: none) at the latest.
    func decide(_ request: Crm_Matching_V1_DecideSuitabilityRequest, deadline: NIODeadline?) async throws -> Crm_Matching_V1_DecideSuitabilityResponse
}
