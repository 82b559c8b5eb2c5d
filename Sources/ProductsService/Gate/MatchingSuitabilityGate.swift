import CRMProtos
import CRMRPC
import Logging
import NIOCore

/// The suitability gate backed by the matching service: `/crm.matching.v1.Matching/DecideSuitability`.
///
/// Every way of not getting a decision ends in UNAVAILABLE, so the caller refuses the order: no peer
/// configured, matching unreachable, its deadline passed, or matching failing (including UNIMPLEMENTED
/// from a matching that predates the method, and auth errors from a misconfigured peer token, which
/// are also logged). Matching's own verdict that it cannot decide for this input (NOT_FOUND,
/// INVALID_ARGUMENT, FAILED_PRECONDITION: e.g. a customer it does not know) refuses the order with
/// FAILED_PRECONDITION and matching's reason.
struct MatchingSuitabilityGate: SuitabilityGate {
    static let method = Crm_Matching_V1_Matching.decideSuitability

    /// The matching peer; nil when the configuration names none.
    let client: RPCClient?
    /// How long an order waits for the decision at most.
    let timeoutMilliseconds: Int64
    let logger: Logger
    /// Gate latency by result (nil: not counted).
    var metrics: OrderMetrics? = nil

    /// Matching gets the smaller of the configured wait and what is left of the order call's
    /// deadline: a decision that arrives after the caller gave up helps no one, and matching can
    /// stop working on it when its deadline passes.
    static func timeout(configured milliseconds: Int64, callerDeadline: NIODeadline?, now: NIODeadline = .now()) -> TimeAmount {
        let configured = TimeAmount.milliseconds(milliseconds)
        guard let callerDeadline else { return configured }
        return max(.milliseconds(1), min(configured, callerDeadline - now))
    }

    func decide(_ request: Crm_Matching_V1_DecideSuitabilityRequest, deadline: NIODeadline?) async throws -> Crm_Matching_V1_DecideSuitabilityResponse {
        guard let metrics else { return try await ask(request, deadline: deadline) }
        let started = NIODeadline.now()
        do {
            let decision = try await ask(request, deadline: deadline)
            metrics.gate(result: "decided", nanoseconds: (NIODeadline.now() - started).nanoseconds)
            return decision
        } catch let error as RPCError {
            metrics.gate(result: error.code == .failedPrecondition ? "undecidable" : "unavailable", nanoseconds: (NIODeadline.now() - started).nanoseconds)
            throw error
        }
    }

    private func ask(_ request: Crm_Matching_V1_DecideSuitabilityRequest, deadline: NIODeadline?) async throws -> Crm_Matching_V1_DecideSuitabilityResponse {
        guard let client else {
            throw RPCError(.unavailable, "no matching service is configured (peer 'matching'), so suitability cannot be checked; the order is not accepted")
        }
        do {
            return try await client.unary(
                Self.method, request,
                options: .timeout(Self.timeout(configured: timeoutMilliseconds, callerDeadline: deadline))
            )
        } catch let error as RPCError {
            switch error.code {
            case .notFound, .invalidArgument, .failedPrecondition:
                throw RPCError(.failedPrecondition, "suitability cannot be decided: \(error.message)", fieldViolations: error.fieldViolations)
            case .unauthenticated, .permissionDenied:
                logger.error("matching refused the products service's peer token", metadata: ["error": "\(error)"])
                throw Self.unavailable(error)
            default:
                throw Self.unavailable(error)
            }
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw Self.unavailable(RPCError(.unknown, "\(error)"))
        }
    }

    private static func unavailable(_ cause: RPCError) -> RPCError {
        RPCError(.unavailable, "the suitability check could not be made (matching: \(cause.code.canonicalName): \(cause.message)); the order is not accepted unchecked")
    }
}
