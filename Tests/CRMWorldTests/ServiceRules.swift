import CRMPrimitives
import CRMProtos
import CRMRPC
import Foundation
@testable import CompensationService
@testable import ProductsService
@testable import ProfilesService

/// The services' own validators, applied to the generated messages: profiles' CustomerValidation,
/// AssessmentValidation, StatusRules and EventConversion, products' ProductValidation,
/// ContractValidation, OrderValidation and SaleRules, compensation's ManagerValidation. Each
/// function returns the violated fields; empty means the service would accept the message.
///
/// Calling the validators themselves (not a restatement of them) means a rule tightened in a
/// service fails here until the world generates what the service accepts.
enum ServiceRules {
    // MARK: Profiles

    static func customer(_ customer: Crm_Profiles_V1_Customer) -> [String] {
        fields(CustomerValidation.violations(of: customer))
    }

    /// With the service's default validity (``ProfilesSettings``) and the world's present as today.
    static func assessment(_ assessment: Crm_Profiles_V1_SuitabilityAssessment, today: Int32) throws -> [String] {
        var normalised = assessment
        let validityYears = try ProfilesSettings([:]).assessmentValidityYears
        return fields(AssessmentValidation.normalise(&normalised, validityYears: validityYears, today: today))
    }

    static func isAllowed(from: Crm_Profiles_V1_AccountStatus, to: Crm_Profiles_V1_AccountStatus) -> Bool {
        StatusRules.isAllowed(from: from, to: to)
    }

    static func trade(_ event: Crm_Profiles_V1_TradeEvent) -> [String] {
        problems { _ = try EventConversion.trades(.with { $0.events = [event] }) }
    }

    static func transfer(_ event: Crm_Profiles_V1_FundTransferEvent) -> [String] {
        problems { _ = try EventConversion.transfers(.with { $0.events = [event] }) }
    }

    static func position(_ event: Crm_Profiles_V1_DailyPositionEvent) -> [String] {
        problems { _ = try EventConversion.positions(.with { $0.events = [event] }) }
    }

    static func margin(_ event: Crm_Profiles_V1_MarginAccountEvent) -> [String] {
        problems { _ = try EventConversion.marginAccounts(.with { $0.events = [event] }) }
    }

    static func interest(_ event: Crm_Profiles_V1_MarginInterestEvent) -> [String] {
        problems { _ = try EventConversion.marginInterest(.with { $0.events = [event] }) }
    }

    static func contact(_ event: Crm_Profiles_V1_ServiceContactEvent) -> [String] {
        problems { _ = try EventConversion.contacts(.with { $0.events = [event] }) }
    }

    static func view(_ event: Crm_Profiles_V1_ProductViewEvent) -> [String] {
        problems { _ = try EventConversion.views(.with { $0.events = [event] }) }
    }

    // MARK: Products

    static func product(_ product: Crm_Products_V1_Product) -> [String] {
        fields(ProductValidation.violations(of: product))
    }

    static func template(_ template: Crm_Products_V1_ContractTemplate) -> [String] {
        fields(ContractValidation.violations(of: template))
    }

    static func order(_ order: Crm_Products_V1_Order) -> [String] {
        fields(OrderValidation.violations(of: order))
    }

    static func sale(_ order: Crm_Products_V1_Order, of product: Crm_Products_V1_Product, on day: Crm_Common_V1_Date) -> [String] {
        problems { try SaleRules.check(order, against: product, today: day) }
    }

    // MARK: Compensation

    static func manager(_ manager: Crm_Compensation_V1_ClientManager) -> [String] {
        fields(ManagerValidation.violations(of: manager))
    }

    // MARK: Reading the refusals

    private static func fields(_ violations: [Refusal.Field]) -> [String] {
        violations.map { "\($0.field) \($0.description)" }
    }

    /// What `check` refused: its field violations, or its message when it names none.
    private static func problems(_ check: () throws -> Void) -> [String] {
        do {
            try check()
            return []
        } catch let error as RPCError {
            return error.fieldViolations.isEmpty ? [error.message] : error.fieldViolations.map { "\($0.field) \($0.description)" }
        } catch let refusal as Refusal {
            return refusal.fields.isEmpty ? [refusal.message] : fields(refusal.fields)
        } catch {
            return ["\(error)"]
        }
    }
}

/// Day numbers by Foundation's calendar, to check the world's own arithmetic against.
enum WorldDaysForTests {
    static func day(_ date: Crm_Common_V1_Date) -> Int32 {
        var components = DateComponents()
        components.year = Int(date.year)
        components.month = Int(date.month)
        components.day = Int(date.day)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        guard let instant = calendar.date(from: components) else { return .max }
        return Int32((instant.timeIntervalSince1970 / 86_400).rounded(.down))
    }
}
