import CRMProtos
import Foundation

/// The proto names of the enum values the walkthrough and the report print (NORMAL, R5, FUND_BOND…),
/// and small conversions of the contract's common types.
enum ProtoNames {
    static func status(_ value: Crm_Profiles_V1_AccountStatus) -> String {
        switch value {
        case .prospect: "PROSPECT"
        case .normal: "NORMAL"
        case .frozen: "FROZEN"
        case .reportedLost: "REPORTED_LOST"
        case .closed: "CLOSED"
        default: "UNSPECIFIED"
        }
    }

    static func kind(_ value: Crm_Profiles_V1_CustomerKind) -> String {
        switch value {
        case .individual: "INDIVIDUAL"
        case .institution: "INSTITUTION"
        default: "UNSPECIFIED"
        }
    }

    static func risk(_ value: Crm_Common_V1_RiskLevel) -> String {
        value.rawValue >= 1 && value.rawValue <= 5 ? "R\(value.rawValue)" : "R?"
    }

    static func tolerance(_ value: Crm_Common_V1_RiskTolerance) -> String {
        value.rawValue >= 1 && value.rawValue <= 5 ? "C\(value.rawValue)" : "C?"
    }

    static func productType(_ value: Crm_Products_V1_ProductType) -> String {
        switch value {
        case .fundMoneyMarket: "FUND_MONEY_MARKET"
        case .fundBond: "FUND_BOND"
        case .fundMixed: "FUND_MIXED"
        case .fundEquity: "FUND_EQUITY"
        case .fundIndex: "FUND_INDEX"
        case .fundQdii: "FUND_QDII"
        case .bond: "BOND"
        case .assetManagement: "ASSET_MANAGEMENT"
        case .structuredNote: "STRUCTURED_NOTE"
        case .advisoryPackage: "ADVISORY_PACKAGE"
        default: "UNSPECIFIED"
        }
    }

    static func horizon(_ value: Crm_Profiles_V1_InvestmentHorizon) -> String {
        switch value {
        case .upTo1Year: "up to 1 year"
        case .oneTo3Years: "1–3 years"
        case .threeTo5Years: "3–5 years"
        case .over5Years: "over 5 years"
        default: "not stated"
        }
    }

    static func variety(_ value: Crm_Profiles_V1_InvestmentVariety) -> String {
        switch value {
        case .depositsAndMoneyMarket: "DEPOSITS_AND_MONEY_MARKET"
        case .bonds: "BONDS"
        case .equities: "EQUITIES"
        case .funds: "FUNDS"
        case .derivatives: "DERIVATIVES"
        case .assetManagement: "ASSET_MANAGEMENT"
        case .structured: "STRUCTURED"
        case .advisory: "ADVISORY"
        default: "UNSPECIFIED"
        }
    }

    static func investorClass(_ value: Crm_Profiles_V1_InvestorClass) -> String {
        switch value {
        case .ordinary: "ordinary"
        case .professional: "professional"
        default: "unassessed"
        }
    }

    static func decision(_ value: Crm_Matching_V1_SuitabilityDecision) -> String {
        switch value {
        case .match: "MATCH"
        case .mismatch: "MISMATCH"
        case .prohibited: "PROHIBITED"
        default: "UNSPECIFIED"
        }
    }

    static func side(_ value: Crm_Profiles_V1_TradeSide) -> String {
        switch value {
        case .buy: "BUY"
        case .sell: "SELL"
        default: "?"
        }
    }

    static func instrumentType(_ value: Crm_Profiles_V1_InstrumentType) -> String {
        switch value {
        case .stock: "STOCK"
        case .bond: "BOND"
        case .fund: "FUND"
        case .etf: "ETF"
        case .repo: "REPO"
        case .warrant: "WARRANT"
        case .other: "OTHER"
        default: "?"
        }
    }

    /// "2026-03-14"; "–" for an unset date.
    static func date(_ value: Crm_Common_V1_Date) -> String {
        guard value.year > 0 else { return "–" }
        return String(format: "%04d-%02d-%02d", value.year, value.month, value.day)
    }

    /// The Beijing-time calendar day of an instant, "2026-03-14".
    static func day(_ timestamp: Crm_Common_V1_Timestamp) -> String {
        let seconds = Double(timestamp.unixMillis) / 1_000 + 8 * 3_600
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: seconds))
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }
}

