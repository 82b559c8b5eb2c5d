import CRMProtos
import CustomerDimensions
import Foundation

/// Each ingestion request's events as the rows the event log stores: checked and converted
/// (``EventConversion``), keyed by kind and idempotency key, dated by their business day, with the
/// wire event's bytes as the body. One function per kind, used by the ingestion handlers and by
/// ``StoreSeeding/appendEvents(_:into:)``, so a world seeded straight into the store holds exactly
/// the rows ingestion would have written.
enum EventMapping {
    static func stored(_ request: Crm_Profiles_V1_IngestTradesRequest) throws -> [StoredEvent] {
        try zip(EventConversion.trades(request), request.events).map { trade, wire in
            try StoredEvent(kind: .trade, key: trade.key, customerID: trade.customerID, day: Days.day(ofMillis: trade.tradedAtMillis),
                            atMillis: trade.tradedAtMillis, body: wire.serializedBytes())
        }
    }

    static func stored(_ request: Crm_Profiles_V1_IngestFundTransfersRequest) throws -> [StoredEvent] {
        try zip(EventConversion.transfers(request), request.events).map { event, wire in
            try StoredEvent(kind: .transfer, key: event.key, customerID: event.customerID, day: Days.day(ofMillis: event.atMillis),
                            atMillis: event.atMillis, body: wire.serializedBytes())
        }
    }

    static func stored(_ request: Crm_Profiles_V1_IngestDailyPositionsRequest) throws -> [StoredEvent] {
        try zip(EventConversion.positions(request), request.events).map { event, wire in
            try StoredEvent(kind: .position, key: event.key, customerID: event.customerID, day: event.day,
                            atMillis: Int64(event.day) * Days.millisPerDay, body: wire.serializedBytes())
        }
    }

    static func stored(_ request: Crm_Profiles_V1_IngestMarginAccountsRequest) throws -> [StoredEvent] {
        try zip(EventConversion.marginAccounts(request), request.events).map { event, wire in
            try StoredEvent(kind: .margin, key: event.key, customerID: event.customerID, day: event.day,
                            atMillis: Int64(event.day) * Days.millisPerDay, body: wire.serializedBytes())
        }
    }

    static func stored(_ request: Crm_Profiles_V1_IngestMarginInterestRequest) throws -> [StoredEvent] {
        try zip(EventConversion.marginInterest(request), request.events).map { event, wire in
            try StoredEvent(kind: .interest, key: event.key, customerID: event.customerID, day: Days.day(ofMillis: event.atMillis),
                            atMillis: event.atMillis, body: wire.serializedBytes())
        }
    }

    static func stored(_ request: Crm_Profiles_V1_IngestServiceContactsRequest) throws -> [StoredEvent] {
        try zip(EventConversion.contacts(request), request.events).map { event, wire in
            try StoredEvent(kind: .contact, key: event.key, customerID: event.customerID, day: Days.day(ofMillis: event.atMillis),
                            atMillis: event.atMillis, body: wire.serializedBytes())
        }
    }

    static func stored(_ request: Crm_Profiles_V1_IngestProductViewsRequest) throws -> [StoredEvent] {
        try zip(EventConversion.views(request), request.events).map { event, wire in
            try StoredEvent(kind: .view, key: event.key, customerID: event.customerID, day: Days.day(ofMillis: event.atMillis),
                            atMillis: event.atMillis, body: wire.serializedBytes())
        }
    }
}
