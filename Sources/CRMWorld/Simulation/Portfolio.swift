/// A customer's cash account as the simulation moves it: cash, securities at cost, and financial
/// products. Its end-of-day valuation is what a daily position reports.
struct Portfolio {
    struct SecurityHolding {
        let security: Int
        var quantity: Int64
        var costFen: Int64
    }

    struct ProductHolding {
        let product: Int
        let costFen: Int64
        /// The value on `baseDay`; later values follow the product's net asset value.
        let baseValueFen: Int64
        let baseDay: WorldDay
        var redeemOn: WorldDay
    }

    var cashFen: Int64 = 0
    var securities: [SecurityHolding] = []
    var products: [ProductHolding] = []

    /// The value of a product holding at the close of `day`.
    func value(of holding: ProductHolding, on day: WorldDay, market: Market) -> Int64 {
        let ratio = market.nav(holding.product, on: day) / market.nav(holding.product, on: holding.baseDay)
        return max(0, Int64((Double(holding.baseValueFen) * ratio).rounded()))
    }

    /// Cash plus securities and products at the close of `day`.
    func totalFen(on day: WorldDay, market: Market) -> Int64 {
        var total = cashFen
        for holding in securities { total += Market.value(quantity: holding.quantity, priceMilli: market.price(holding.security, on: day)) }
        for holding in products { total += value(of: holding, on: day, market: market) }
        return total
    }

    /// Adds `quantity` of `security` bought for `costFen` (commission and fees included).
    mutating func buy(_ security: Int, quantity: Int64, costFen: Int64) {
        if let slot = securities.firstIndex(where: { $0.security == security }) {
            securities[slot].quantity += quantity
            securities[slot].costFen += costFen
        } else {
            securities.append(SecurityHolding(security: security, quantity: quantity, costFen: costFen))
        }
    }

    /// Removes `quantity` of the holding in `slot`, its cost in proportion.
    mutating func sell(slot: Int, quantity: Int64) {
        let holding = securities[slot]
        if quantity >= holding.quantity {
            securities.remove(at: slot)
        } else {
            let soldCost = Int64((Double(holding.costFen) * Double(quantity) / Double(holding.quantity)).rounded())
            securities[slot].quantity -= quantity
            securities[slot].costFen -= soldCost
        }
    }
}

/// The margin (credit) account: collateral pledged, a credit limit and the financing owed.
struct MarginState {
    let pledgedFen: Int64
    let creditLimitFen: Int64
    var financingFen: Int64
    /// The day interest was last charged.
    var lastChargedOn: WorldDay

    /// Interest at 6% a year on 360 days, on the financing for `days` days.
    func interest(days: Int64) -> Int64 {
        max(0, Int64((Double(financingFen) * 0.06 * Double(days) / 360).rounded()))
    }
}
