import CRMPrimitives
import CRMProtos

/// Advisory-package subscriptions before they are stored. Pure: no I/O.
enum PackageValidation {
    /// Every violated field of `subscription` (paths under `subscription.`).
    static func violations(of subscription: Crm_Products_V1_PackageSubscription) -> [Refusal.Field] {
        var violations: [Refusal.Field] = []
        func add(_ field: String, _ description: String) {
            violations.append(Refusal.Field(field: "subscription.\(field)", description: description))
        }
        if subscription.customerID.isEmpty { add("customer_id", "is required") }
        if let problem = ProductValidation.codeProblem(subscription.packageCode) { add("package_code", problem) }
        switch subscription.feeSchedule.fee {
        case nil:
            add("fee_schedule", "is required: a monthly fee or a percentage of assets")
        case let .monthlyFee(fee)?:
            if fee.minorUnits <= 0 { add("fee_schedule.monthly_fee.minor_units", "must be greater than zero") }
            if let problem = MoneyText.currencyProblem(fee.currency) { add("fee_schedule.monthly_fee.currency", problem) }
        case let .assetPercentageBp(rate)?:
            if rate == 0 || rate > ProductValidation.maxRateBp {
                add("fee_schedule.asset_percentage_bp", "must be within 1..\(ProductValidation.maxRateBp)")
            }
        }
        if !subscription.hasStartDate {
            add("start_date", "is required")
        } else if !subscription.startDate.isValid {
            add("start_date", "is not a calendar date")
        }
        return violations
    }

    /// Throws unless `product` is an advisory package on sale (FAILED_PRECONDITION,
    /// `subscription.package_code`).
    static func checkSubscribable(_ product: Crm_Products_V1_Product, today: Crm_Common_V1_Date) throws {
        guard product.type == .advisoryPackage else {
            throw Refusal.refused(.failedPrecondition, field: "subscription.package_code", "product \(product.productCode) is not an advisory package")
        }
        try SaleRules.checkOnSale(product, today: today, field: "subscription.package_code")
    }

    /// The caller's part of a subscription: equal contents are the same subscription.
    static func content(of subscription: Crm_Products_V1_PackageSubscription) -> Crm_Products_V1_PackageSubscription {
        .with {
            $0.customerID = subscription.customerID
            $0.packageCode = subscription.packageCode
            $0.feeSchedule = .with {
                switch subscription.feeSchedule.fee {
                case let .monthlyFee(fee)?:
                    $0.monthlyFee = .with {
                        $0.minorUnits = fee.minorUnits
                        $0.currency = MoneyText.currency(fee)
                    }
                case let .assetPercentageBp(rate)?:
                    $0.assetPercentageBp = rate
                case nil:
                    break
                }
            }
            $0.startDate = .init(year: subscription.startDate.year, month: subscription.startDate.month, day: subscription.startDate.day)
        }
    }
}
