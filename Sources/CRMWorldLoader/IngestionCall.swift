import CRMProtos
import CRMRPC
import CRMWorld
import SwiftProtobuf

/// One call of profiles' ingestion RPCs, whatever the event kind: how generated events reach a
/// profiles process, as the trading system sends them.
///
/// The loader, the benches and the tests that build a world through the RPCs all send a chunk's
/// events the same way — kind by kind across the customers, in batches — so the order and the
/// batching live here once (the order matters: a page of point-in-time dimensions must apply a
/// customer's events in stored order, which is not their days' order).
public enum IngestionCall: Sendable {
    case trades(Crm_Profiles_V1_IngestTradesRequest)
    case fundTransfers(Crm_Profiles_V1_IngestFundTransfersRequest)
    case dailyPositions(Crm_Profiles_V1_IngestDailyPositionsRequest)
    case marginAccounts(Crm_Profiles_V1_IngestMarginAccountsRequest)
    case marginInterest(Crm_Profiles_V1_IngestMarginInterestRequest)
    case serviceContacts(Crm_Profiles_V1_IngestServiceContactsRequest)
    case productViews(Crm_Profiles_V1_IngestProductViewsRequest)

    /// The customers' events as calls: trades, fund transfers, daily positions, margin accounts,
    /// margin interest, service contacts, product views — each kind across all the customers, at
    /// most `batchSize` events a call.
    public static func batches(of events: [CustomerEvents], batchSize: Int) -> [IngestionCall] {
        precondition(batchSize > 0, "a batch holds at least one event")
        func split<Event>(_ all: [Event], _ call: ([Event]) -> IngestionCall) -> [IngestionCall] {
            stride(from: 0, to: all.count, by: batchSize).map { start in call(Array(all[start..<min(all.count, start + batchSize)])) }
        }
        return split(events.flatMap(\.trades)) { batch in .trades(.with { $0.events = batch }) }
            + split(events.flatMap(\.fundTransfers)) { batch in .fundTransfers(.with { $0.events = batch }) }
            + split(events.flatMap(\.dailyPositions)) { batch in .dailyPositions(.with { $0.events = batch }) }
            + split(events.flatMap(\.marginAccounts)) { batch in .marginAccounts(.with { $0.events = batch }) }
            + split(events.flatMap(\.marginInterest)) { batch in .marginInterest(.with { $0.events = batch }) }
            + split(events.flatMap(\.serviceContacts)) { batch in .serviceContacts(.with { $0.events = batch }) }
            + split(events.flatMap(\.productViews)) { batch in .productViews(.with { $0.events = batch }) }
    }

    /// Sends the call through `client`'s ingestion method for its kind.
    public func send(through client: RPCClient) async throws -> Crm_Profiles_V1_IngestResponse {
        switch self {
        case let .trades(request): try await client.unary(Crm_Profiles_V1_Profiles.ingestTrades, request)
        case let .fundTransfers(request): try await client.unary(Crm_Profiles_V1_Profiles.ingestFundTransfers, request)
        case let .dailyPositions(request): try await client.unary(Crm_Profiles_V1_Profiles.ingestDailyPositions, request)
        case let .marginAccounts(request): try await client.unary(Crm_Profiles_V1_Profiles.ingestMarginAccounts, request)
        case let .marginInterest(request): try await client.unary(Crm_Profiles_V1_Profiles.ingestMarginInterest, request)
        case let .serviceContacts(request): try await client.unary(Crm_Profiles_V1_Profiles.ingestServiceContacts, request)
        case let .productViews(request): try await client.unary(Crm_Profiles_V1_Profiles.ingestProductViews, request)
        }
    }
}

extension GeneratedCustomer {
    /// Creates the customer as the loader does before its events: identity, the status changes
    /// made before them, every assessment (on a store that does not hold the customer yet).
    public func create(through client: RPCClient) async throws {
        _ = try await client.unary(Crm_Profiles_V1_Profiles.upsertCustomer, creation)
        for change in statusChanges.prefix(statusChangesBeforeEvents) {
            _ = try await client.unary(Crm_Profiles_V1_Profiles.changeAccountStatus, change)
        }
        for assessment in assessments {
            _ = try await client.unary(Crm_Profiles_V1_Profiles.recordAssessment, assessment)
        }
    }
}
