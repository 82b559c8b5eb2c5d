import CoreMetrics
import CRMProtos
import CRMRPC
import CustomerDimensions
import Foundation
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

    func register(into router: inout Router) {
        let policy = AccessPolicy.roles(ProfilesRoles.ingest, ProfilesRoles.headOffice)
        // Each batch's record names the customers its events concern.
        func touched<Request: IngestRequest>() -> AuditRule<Request, Crm_Profiles_V1_IngestResponse> {
            .customers { $0.events.map(\.customerID) }
        }
        router.unary(Crm_Profiles_V1_Profiles.ingestTrades, policy: policy, audit: touched()) { request, _ in
            let trades = try EventConversion.trades(request)
            return try await store(zip(trades, request.events).map { trade, wire in
                try StoredEvent(kind: .trade, key: trade.key, customerID: trade.customerID, day: Days.day(ofMillis: trade.tradedAtMillis), atMillis: trade.tradedAtMillis, body: wire.serializedBytes())
            }, trades: true)
        }
        router.unary(Crm_Profiles_V1_Profiles.ingestFundTransfers, policy: policy, audit: touched()) { request, _ in
            let transfers = try EventConversion.transfers(request)
            return try await store(zip(transfers, request.events).map { event, wire in
                try StoredEvent(kind: .transfer, key: event.key, customerID: event.customerID, day: Days.day(ofMillis: event.atMillis), atMillis: event.atMillis, body: wire.serializedBytes())
            })
        }
        router.unary(Crm_Profiles_V1_Profiles.ingestDailyPositions, policy: policy, audit: touched()) { request, _ in
            let positions = try EventConversion.positions(request)
            return try await store(zip(positions, request.events).map { event, wire in
                try StoredEvent(kind: .position, key: event.key, customerID: event.customerID, day: event.day, atMillis: Int64(event.day) * Days.millisPerDay, body: wire.serializedBytes())
            })
        }
        router.unary(Crm_Profiles_V1_Profiles.ingestMarginAccounts, policy: policy, audit: touched()) { request, _ in
            let snapshots = try EventConversion.marginAccounts(request)
            return try await store(zip(snapshots, request.events).map { event, wire in
                try StoredEvent(kind: .margin, key: event.key, customerID: event.customerID, day: event.day, atMillis: Int64(event.day) * Days.millisPerDay, body: wire.serializedBytes())
            })
        }
        router.unary(Crm_Profiles_V1_Profiles.ingestMarginInterest, policy: policy, audit: touched()) { request, _ in
            let charges = try EventConversion.marginInterest(request)
            return try await store(zip(charges, request.events).map { event, wire in
                try StoredEvent(kind: .interest, key: event.key, customerID: event.customerID, day: Days.day(ofMillis: event.atMillis), atMillis: event.atMillis, body: wire.serializedBytes())
            })
        }
        router.unary(Crm_Profiles_V1_Profiles.ingestServiceContacts, policy: policy, audit: touched()) { request, _ in
            let contacts = try EventConversion.contacts(request)
            return try await store(zip(contacts, request.events).map { event, wire in
                try StoredEvent(kind: .contact, key: event.key, customerID: event.customerID, day: Days.day(ofMillis: event.atMillis), atMillis: event.atMillis, body: wire.serializedBytes())
            })
        }
        router.unary(Crm_Profiles_V1_Profiles.ingestProductViews, policy: policy, audit: touched()) { request, _ in
            let views = try EventConversion.views(request)
            return try await store(zip(views, request.events).map { event, wire in
                try StoredEvent(kind: .view, key: event.key, customerID: event.customerID, day: Days.day(ofMillis: event.atMillis), atMillis: event.atMillis, body: wire.serializedBytes())
            })
        }
    }

    private func store(_ batch: [StoredEvent], trades: Bool = false) async throws -> Crm_Profiles_V1_IngestResponse {
        let outcome = try await events.append(batch, requireTradingStatus: trades)
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
