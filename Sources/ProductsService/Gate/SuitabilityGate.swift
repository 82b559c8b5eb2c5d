import CRMProtos

/// Asks whether a customer may buy a product: the suitability decision the order path waits for.
///
/// The service uses ``MatchingSuitabilityGate`` (the matching service over RPC); tests substitute a
/// deterministic one. A gate either returns matching's decision or throws the refusal the order
/// gets (UNAVAILABLE when no decision could be had): an order is never accepted unchecked.
protocol SuitabilityGate: Sendable {
    func decide(_ request: Crm_Matching_V1_DecideSuitabilityRequest) async throws -> Crm_Matching_V1_DecideSuitabilityResponse
}
