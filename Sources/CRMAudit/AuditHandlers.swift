import CRMProtos
import CRMRPC
import Foundation

/// The `crm.audit.v1.Audit` methods every service serves over its own trail, for the `compliance`
/// role only (``AccessPolicy/onlyRoles(_:)``: not even `admin`, so operators neither read nor prune
/// the record of their own calls).
public struct AuditHandlers: Sendable {
    public static let complianceRole = "compliance"
    static let defaultPage = 100
    static let maxPage = 1_000

    let trail: AuditTrail

    public init(trail: AuditTrail) {
        self.trail = trail
    }

    public func register(into router: inout Router) {
        let policy = AccessPolicy.onlyRoles([Self.complianceRole])
        let trail = self.trail
        router.unary(Crm_Audit_V1_Audit.queryAudit, policy: policy) { request, _ in
            try await Self.query(trail, request)
        }
        router.unary(Crm_Audit_V1_Audit.verifyAuditChain, policy: policy, offEventLoop: true) { _, _ in
            let result = try await trail.verify()
            return Self.message(result)
        }
        router.serverStreaming(Crm_Audit_V1_Audit.exportAudit, policy: policy, offEventLoop: true) { request, writer, _ in
            try await trail.export(after: Int64(clamping: request.afterSequence),
                                   through: request.throughSequence == 0 ? nil : Int64(clamping: request.throughSequence)) { sequence, hash in
                try await writer.write(.with {
                    $0.anchor = .with {
                        $0.sequence = UInt64(sequence)
                        $0.hash = hash
                    }
                })
            } record: { value in
                try await writer.write(.with { $0.record = Self.message(value) })
            }
        }
        router.unary(Crm_Audit_V1_Audit.purgeAudit, policy: policy) { request, _ in
            let (removed, anchor) = try await trail.purge(exportedThrough: Int64(clamping: request.exportedThroughSequence))
            return .with {
                $0.removed = UInt64(removed)
                $0.anchor = .with {
                    $0.sequence = UInt64(anchor.0)
                    $0.hash = anchor.1
                }
                $0.retentionDays = UInt32(trail.settings.retention)
            }
        }
    }

    static func query(_ trail: AuditTrail, _ request: Crm_Audit_V1_QueryAuditRequest) async throws -> Crm_Audit_V1_QueryAuditResponse {
        let size = request.page.pageSize == 0 ? defaultPage : Int(request.page.pageSize)
        guard size <= maxPage else {
            throw RPCError.invalidArgument(field: "page.page_size", "at most \(maxPage)")
        }
        var after: Int64 = 0
        if !request.page.pageToken.isEmpty {
            guard let value = Int64(request.page.pageToken), value >= 0 else {
                throw RPCError.invalidArgument(field: "page.page_token", "is not a token this method gave")
            }
            after = value
        }
        let filter = AuditFilter(
            customerID: request.customerID.isEmpty ? nil : request.customerID,
            principal: request.principal.isEmpty ? nil : request.principal,
            fromMillis: request.hasFrom ? request.from.unixMillis : nil,
            toMillis: request.hasTo ? request.to.unixMillis : nil
        )
        let records = try await trail.records(matching: filter, after: after, limit: size + 1)
        return .with {
            $0.records = records.prefix(size).map(Self.message)
            if records.count > size, let last = records.prefix(size).last {
                $0.page.nextPageToken = String(last.sequence)
            }
        }
    }

    static func message(_ value: AuditRecordValue) -> Crm_Audit_V1_AuditRecord {
        .with {
            $0.sequence = UInt64(value.sequence)
            $0.time = .with { $0.unixMillis = value.timeMillis }
            $0.principal = value.call.principal
            $0.roles = value.call.roles
            $0.peer = value.call.peer
            $0.certificateSubject = value.call.certificateSubject
            $0.method = value.call.method
            $0.requestID = value.call.requestID
            $0.status = Int32(value.call.status.rawValue)
            $0.customerIds = value.call.subjectIDs
            $0.aggregateRule = value.call.aggregateRule
            if let count = value.call.aggregateCount {
                $0.hasAggregateCount_p = true
                $0.aggregateCount = count
            }
            $0.unmasked = value.call.unmasked
            $0.hash = value.hash
        }
    }

    static func message(_ result: ChainVerification) -> Crm_Audit_V1_VerifyAuditChainResponse {
        .with {
            $0.intact = result.isIntact
            $0.recordsChecked = UInt64(result.recordsChecked)
            switch result.problem {
            case nil: $0.problem = .none
            case .recordChanged: $0.problem = .recordChanged
            case .recordMissing: $0.problem = .recordMissing
            case .recordInserted: $0.problem = .recordInserted
            case .recordsTruncated: $0.problem = .recordsTruncated
            case .indexChanged: $0.problem = .indexChanged
            }
            $0.position = UInt64(result.position)
            $0.message = result.message
            $0.anchorSequence = UInt64(result.anchor.sequence)
            $0.anchorHash = result.anchor.hash
            $0.headSequence = UInt64(result.head.sequence)
            $0.headHash = result.head.hash
        }
    }
}
