import CRMPrimitives
import Foundation
import Synchronization

/// Where a server's audited calls are recorded (a service's audit trail). The runtime knows only
/// this protocol: who called, what, about whom and how it ended; the trail decides how to store it.
public protocol CallAuditor: Sendable {
    /// Records one finished call and returns once the record is durable (committed): the answer
    /// waits for it, so no answer leaves without its record. A throw fails the call UNAVAILABLE.
    func record(_ call: AuditedCall) async throws

    /// Notes a call to an audited method that the runtime refused before its handler ran (no,
    /// invalid or expired credentials; no allowed role; the principal's rate limit). Returns the
    /// write the refusal's answer waits for, or nil when the auditor counted it into a record it
    /// writes later (repeats are coalesced so a flood of refusals cannot grow the store without
    /// bound). Called on the connection's event loop: must not block.
    func recordRefusal(_ call: AuditedCall) -> Task<Void, any Error>?
}

extension CallAuditor {
    /// Refusals are not recorded unless the auditor says how.
    public func recordRefusal(_ call: AuditedCall) -> Task<Void, any Error>? { nil }
}

/// One audited call as the runtime saw it when it finished.
public struct AuditedCall: Sendable, Hashable {
    public var principal: String
    /// Sorted, comma-separated.
    public var roles: String
    public var peer: String
    public var certificateSubject: String
    public var method: String
    public var requestID: String
    public var status: StatusCode
    /// The ids of the people (customers) whose data the call returned or acted on, each once, in
    /// the order first declared.
    public var subjectIDs: [String]
    /// For calls that select by a rule or filter: the rule and how many matched.
    public var aggregateRule: String
    public var aggregateCount: UInt64?
    /// The answer carried personal data unmasked.
    public var unmasked: Bool

    public init(principal: String, roles: String, peer: String, certificateSubject: String, method: String, requestID: String,
                status: StatusCode, subjectIDs: [String], aggregateRule: String = "", aggregateCount: UInt64? = nil, unmasked: Bool = false) {
        self.principal = principal
        self.roles = roles
        self.peer = peer
        self.certificateSubject = certificateSubject
        self.method = method
        self.requestID = requestID
        self.status = status
        self.subjectIDs = subjectIDs
        self.aggregateRule = aggregateRule
        self.aggregateCount = aggregateCount
        self.unmasked = unmasked
    }
}

/// What one audited call declares while it runs: the subjects it returned or touched, the rule it
/// selected by, whether it answered unmasked. Handlers (and the masking that builds answers) reach
/// the current call's notes through ``current`` without passing them down.
public final class CallAudit: Sendable {
    /// The audited call the current task is answering; nil outside one (or when auditing is off).
    @TaskLocal public static var current: CallAudit?

    private struct Notes {
        var subjects: [String] = []
        var seen: Set<String> = []
        var rule = ""
        var count: UInt64?
        var unmasked = false
        /// The handler committed the call's record (status OK) with its own write.
        var recorded = false
    }

    private let notes = Mutex(Notes())

    public init() {}

    /// Declares customers whose data the call returned or acted on (repeats are kept once).
    public func touched<S: Sequence>(_ ids: S) where S.Element == String {
        notes.withLock { notes in
            for id in ids where !id.isEmpty && notes.seen.insert(id).inserted {
                notes.subjects.append(id)
            }
        }
    }

    public func touched(_ id: String) {
        touched(CollectionOfOne(id))
    }

    /// Declares the rule or filter the call selected customers by and how many matched.
    public func aggregate(rule: String, count: Int) {
        notes.withLock {
            $0.rule = rule
            $0.count = UInt64(max(count, 0))
        }
    }

    /// Adds to the count of an aggregate that streams (one call per page or message).
    public func counted(_ more: Int) {
        notes.withLock { $0.count = ($0.count ?? 0) + UInt64(max(more, 0)) }
    }

    /// Declares that the answer carried personal data unmasked.
    public func markUnmasked() {
        notes.withLock { $0.unmasked = true }
    }

    /// The customers declared so far, in the order first declared.
    var subjects: [String] { notes.withLock { $0.subjects } }

    /// The record this call leaves if it succeeds, as declared so far: for a handler that commits
    /// it inside its own write (a bulk write and its record in one transaction), then tells the
    /// runtime with ``committedWithHandler(_:)``. Only for methods whose audit rule names the
    /// customers from the request: what the answer would add is not known yet.
    public func recordIfSucceeds(_ context: CallContext) -> AuditedCall {
        finish(context, status: .ok)
    }

    /// Whether the call's OK record was committed by the handler's own write (true once its
    /// transaction commits; false again if it rolls back). The runtime then does not write it a
    /// second time when the call succeeds; a call that fails still gets its record of the failure.
    public func committedWithHandler(_ committed: Bool) {
        notes.withLock { $0.recorded = committed }
    }

    var isCommittedWithHandler: Bool { notes.withLock { $0.recorded } }

    func finish(_ context: CallContext, status: StatusCode) -> AuditedCall {
        let principal = context.principal
        return notes.withLock { notes in
            AuditedCall(
                principal: principal?.name ?? "-",
                roles: principal?.roles.sorted().joined(separator: ",") ?? "",
                peer: context.remoteAddress,
                certificateSubject: context.peerCertificateSubject ?? "",
                method: context.method,
                requestID: context.requestID,
                status: status,
                subjectIDs: notes.subjects,
                aggregateRule: notes.rule,
                aggregateCount: notes.count,
                unmasked: notes.unmasked
            )
        }
    }

    /// Runs an audited handler: its notes as ``current``, then the record of how it ended,
    /// committed before the handler's result (or error) goes back to the runtime to be answered.
    /// The record is written whether the handler succeeded, failed or was cancelled (unless the
    /// handler committed the OK record itself); if it cannot be written the call fails UNAVAILABLE
    /// instead of answering without a record.
    static func run<Result: Sendable>(
        auditor: any CallAuditor, context: CallContext, before: (CallAudit) -> Void = { _ in },
        _ body: () async throws -> Result, after: (Result, CallAudit) -> Void = { _, _ in }
    ) async throws -> Result {
        let audit = CallAudit()
        before(audit)
        let outcome: Swift.Result<Result, any Error>
        do {
            let value = try await CallAudit.$current.withValue(audit) { try await body() }
            after(value, audit)
            outcome = .success(value)
        } catch {
            outcome = .failure(error)
        }
        let status: StatusCode
        switch outcome {
        case let .success(value):
            // Committed already, with the handler's own write, before the handler returned.
            if audit.isCommittedWithHandler { return value }
            status = .ok
        case let .failure(error): status = RPCError.answering(error)?.code ?? .internal
        }
        do {
            try await auditor.record(audit.finish(context, status: status))
        } catch {
            throw RPCError(.unavailable, "the audit trail could not record the call; nothing was answered (\(error))")
        }
        return try outcome.get()
    }
}
