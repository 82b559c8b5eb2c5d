import CRMPrimitives

/// An advisory package subscription as the products feed reports it.
public struct AdvisorySubscription: Sendable, Hashable, Codable {
    /// What the package costs the customer.
    public enum Fee: Sendable, Hashable, Codable {
        /// A fixed fee per month.
        case monthly(fen: Int64)
        /// A yearly percentage of the customer's assets, charged monthly on month-end assets.
        case assetPercentage(BasisPoints)
    }

    public var customerID: String
    public var packageCode: String
    public var fee: Fee
    public var startDay: CalendarDay

    public init(customerID: String, packageCode: String, fee: Fee, startDay: CalendarDay) {
        self.customerID = customerID
        self.packageCode = packageCode
        self.fee = fee
        self.startDay = startDay
    }
}

/// Turns subscriptions into monthly advisory-fee income items.
///
/// A subscription is billed for every month whose last day is on or after its start day, the whole
/// month's fee, charged on the month's last day (so the manager in charge at month end gets it). A
/// percentage fee is month-end assets × yearly bp / 12, one line item rounded once half-up. Each
/// month's fee has the id `pkg:<customer>:<package>:<YYYY-MM>`, so it is counted once however often
/// it is computed.
public enum AdvisoryBilling {
    public static func sourceEventID(of subscription: AdvisorySubscription, month: CalendarMonth) -> String {
        "pkg:\(subscription.customerID):\(subscription.packageCode):\(month)"
    }

    /// The months billed from the subscription's start through `month` (empty before it starts).
    public static func months(of subscription: AdvisorySubscription, through month: CalendarMonth) -> [CalendarMonth] {
        var months: [CalendarMonth] = []
        var candidate = subscription.startDay.month
        while candidate <= month {
            months.append(candidate)
            candidate = candidate.next
        }
        return months
    }

    /// The fee for `month`, or nil when the subscription had not started by its last day.
    public static func fee(of subscription: AdvisorySubscription, in month: CalendarMonth, monthEndAssetsFen: Int64) -> IncomeItem? {
        guard subscription.startDay <= month.lastDay else { return nil }
        let amount: Int64
        switch subscription.fee {
        case .monthly(let fen):
            amount = fen
        case .assetPercentage(let rate):
            amount = FenArithmetic.rounded(Int128(monthEndAssetsFen) * Int128(rate.value), dividedBy: Int128(BasisPoints.scale) * 12)
        }
        return IncomeItem(
            sourceEventID: sourceEventID(of: subscription, month: month), customerID: subscription.customerID, day: month.lastDay,
            kind: .advisoryFee(AdvisoryFee(packageID: subscription.packageCode, feeFen: amount))
        )
    }
}
