import CRMProtos
import CustomerDimensions
import Foundation

/// Reads a stored event body (the wire message as ingested) back into a domain event.
enum EventDecoding {
    static func decode(kind: EventKind, body: Data) throws -> CustomerEvent? {
        switch kind {
        case .trade:
            let wire = try Crm_Profiles_V1_TradeEvent(serializedBytes: body)
            return try EventConversion.trades(.with { $0.events = [wire] }).first.map(CustomerEvent.trade)
        case .transfer:
            let wire = try Crm_Profiles_V1_FundTransferEvent(serializedBytes: body)
            return try EventConversion.transfers(.with { $0.events = [wire] }).first.map(CustomerEvent.transfer)
        case .position:
            let wire = try Crm_Profiles_V1_DailyPositionEvent(serializedBytes: body)
            return try EventConversion.positions(.with { $0.events = [wire] }).first.map(CustomerEvent.position)
        case .margin:
            let wire = try Crm_Profiles_V1_MarginAccountEvent(serializedBytes: body)
            return try EventConversion.marginAccounts(.with { $0.events = [wire] }).first.map(CustomerEvent.margin)
        case .interest:
            let wire = try Crm_Profiles_V1_MarginInterestEvent(serializedBytes: body)
            return try EventConversion.marginInterest(.with { $0.events = [wire] }).first.map(CustomerEvent.interest)
        case .contact:
            let wire = try Crm_Profiles_V1_ServiceContactEvent(serializedBytes: body)
            return try EventConversion.contacts(.with { $0.events = [wire] }).first.map(CustomerEvent.contact)
        case .view:
            let wire = try Crm_Profiles_V1_ProductViewEvent(serializedBytes: body)
            return try EventConversion.views(.with { $0.events = [wire] }).first.map(CustomerEvent.view)
        }
    }
}
