import CoreMetrics
import CRMAudit
import CRMProtos
import CRMRPC
import CustomerDimensions
import Foundation
import GRDB
import SwiftProtobuf

/// The batched ingestion methods: validate the whole batch, store it in one transaction (duplicates
/// by idempotency key ignored), then wake the dimension updater.
struct IngestionHandlers: Sendable {
    let events: EventStore
    let onIngested: @Sendable () -> Void
    /// Events stored, by kind (`crm_profiles_ingested_events_total`); nil: not counted.
    var ingested: [EventKind: Counter]? = nil
    /// Told when each stored batch arrived, for the updater's lag in seconds; nil: not kept.
    var arrivals: UpdaterLag? = nil

    /// The aggregate rule of an ingestion batch's audit record (its count: the events sent).
    static let batchRule = "batch of events"

    func register(into router: inout Router) {
        let policy = AccessPolicy.roles(ProfilesRoles.ingest, ProfilesRoles.headOffice)
        // A bulk write is recorded by its batch: one record with the rule "batch of events", the
        // number of events, and every customer they concern (each once), so "who touched
        // C0001318" finds the batch. The trail indexes those customers lazily (AuditTrail), and the
        // record is appended inside the batch's own transaction when the trail shares the store
        // (AuditTrail.append(_:context:in:)): one trip through the writer, one commit.
        let trail = (router.auditor as? AuditTrail).flatMap { $0.database === events.database ? $0 : nil }
        func touched<Request: IngestRequest>() -> AuditRule<Request, Crm_Profiles_V1_IngestResponse> {
            AuditRule(request: { request, audit in
                audit.aggregate(rule: Self.batchRule, count: request.events.count)
                audit.touched(request.events.lazy.map(\.customerID))
            })
        }
        // The wire events become stored rows through EventMapping, the one mapping the store's
        // seeding path uses too.
        router.unary(Crm_Profiles_V1_Profiles.ingestTrades, policy: policy, audit: touched()) { request, context in
            try await store(EventMapping.stored(request), trades: true, context: context, trail: trail)
        }
        router.unary(Crm_Profiles_V1_Profiles.ingestFundTransfers, policy: policy, audit: touched()) { request, context in
            try await store(EventMapping.stored(request), context: context, trail: trail)
        }
        router.unary(Crm_Profiles_V1_Profiles.ingestDailyPositions, policy: policy, audit: touched()) { request, context in
            try await store(EventMapping.stored(request), context: context, trail: trail)
        }
        router.unary(Crm_Profiles_V1_Profiles.ingestMarginAccounts, policy: policy, audit: touched()) { request, context in
            try await store(EventMapping.stored(request), context: context, trail: trail)
        }
        router.unary(Crm_Profiles_V1_Profiles.ingestMarginInterest, policy: policy, audit: touched()) { request, context in
            try await store(EventMapping.stored(request), context: context, trail: trail)
        }
        router.unary(Crm_Profiles_V1_Profiles.ingestServiceContacts, policy: policy, audit: touched()) { request, context in
            try await store(EventMapping.stored(request), context: context, trail: trail)
        }
        router.unary(Crm_Profiles_V1_Profiles.ingestProductViews, policy: policy, audit: touched()) { request, context in
            try await store(EventMapping.stored(request), context: context, trail: trail)
        }
    }

    private func store(_ batch: [StoredEvent], trades: Bool = false, context: CallContext, trail: AuditTrail?) async throws -> Crm_Profiles_V1_IngestResponse {
        var within: (@Sendable (Database) throws -> Void)?
        if let trail, let audit = CallAudit.current {
            within = { db in try trail.append(audit, context: context, in: db) }
        }
        let outcome = try await events.append(batch, requireTradingStatus: trades, within: within)
        if outcome.accepted > 0 {
            arrivals?.arrived(lastEventID: outcome.lastEventID, count: outcome.accepted)
            onIngested()
            if let kind = batch.first?.kind { ingested?[kind]?.increment(by: outcome.accepted) }
        }
        return .with {
            $0.accepted = UInt32(outcome.accepted)
            $0.duplicates = UInt32(outcome.duplicates)
        }
    }
}

/// An ingestion batch: its events each name a customer.
protocol IngestRequest: SwiftProtobuf.Message {
    associatedtype Event: NamesCustomer
    var events: [Event] { get set }
}

protocol NamesCustomer {
    var customerID: String { get }
}

extension Crm_Profiles_V1_IngestTradesRequest: IngestRequest {}
extension Crm_Profiles_V1_IngestFundTransfersRequest: IngestRequest {}
extension Crm_Profiles_V1_IngestDailyPositionsRequest: IngestRequest {}
extension Crm_Profiles_V1_IngestMarginAccountsRequest: IngestRequest {}
extension Crm_Profiles_V1_IngestMarginInterestRequest: IngestRequest {}
extension Crm_Profiles_V1_IngestServiceContactsRequest: IngestRequest {}
extension Crm_Profiles_V1_IngestProductViewsRequest: IngestRequest {}
extension Crm_Profiles_V1_TradeEvent: NamesCustomer {}
extension Crm_Profiles_V1_FundTransferEvent: NamesCustomer {}
extension Crm_Profiles_V1_DailyPositionEvent: NamesCustomer {}
extension Crm_Profiles_V1_MarginAccountEvent: NamesCustomer {}
extension Crm_Profiles_V1_MarginInterestEvent: NamesCustomer {}
extension Crm_Profiles_V1_ServiceContactEvent: NamesCustomer {}
extension Crm_Profiles_V1_ProductViewEvent: NamesCustomer {}
