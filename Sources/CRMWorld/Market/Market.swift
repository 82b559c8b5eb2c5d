import CRMProtos
import Foundation

/// A listed security customers trade: stocks, ETFs, listed funds, convertible bonds and the
/// overnight repo.
struct Security: Sendable {
    let code: String
    let type: Crm_Profiles_V1_InstrumentType
    /// The industry, or a theme for funds; empty for the repo.
    let sector: String
    /// Shares (or bonds) per board lot.
    let lot: Int64
    /// Price decimals on the wire: 2 for stocks, 3 for funds, bonds and the repo rate.
    let decimals: Int
}

/// The market the customers trade in: the securities, their daily closing prices over the span,
/// and the daily net asset value of every product, all drawn once per world from its seed.
struct Market: Sendable {
    static let sectors = ["banking", "securities", "insurance", "liquor", "food_beverage", "pharmaceuticals", "medical_devices",
                          "semiconductors", "electronics", "software", "telecom", "new_energy", "autos", "real_estate",
                          "construction", "steel", "coal", "nonferrous_metals", "chemicals", "utilities", "transportation",
                          "media", "defense", "agriculture", "retail", "household_appliances"]

    let securities: [Security]
    /// Indices of the stocks by sector.
    let stocksBySector: [[Int]]
    /// Indices of the ETFs, listed funds and convertible bonds.
    let funds: [Int]
    let bonds: [Int]
    /// The overnight repo (GC001).
    let repo: Int
    /// Closing prices in thousandths of a yuan, one row of `days` per security (flat: one
    /// allocation, no nested retains in the inner loops).
    private let prices: [Int64]
    /// Product net asset values relative to the first day, one row of `days` per product.
    private let navs: [Double]
    private let days: Int
    let firstDay: WorldDay
    let lastDay: WorldDay

    init(seed: UInt64, calendar: WorldCalendar, products: [ProductFacts]) {
        var random = WorldRandom(seed: seed, salt: 0x3A4_0001)
        firstDay = calendar.spanStart
        lastDay = calendar.spanEnd
        let days = Int(lastDay - firstDay) + 1
        self.days = days

        var securities: [Security] = []
        var bySector = [[Int]](repeating: [], count: Self.sectors.count)
        let boards: [(prefix: String, count: Int)] = [("600", 120), ("601", 60), ("603", 50), ("000", 70), ("002", 60), ("300", 50), ("688", 30)]
        for board in boards {
            for number in 0..<board.count {
                let sector = random.below(Self.sectors.count)
                bySector[sector].append(securities.count)
                securities.append(Security(code: board.prefix + Wire.padded(number * 7 % 1_000, width: 3), type: .stock,
                                           sector: Self.sectors[sector], lot: 100, decimals: 2))
            }
        }
        var funds: [Int] = []
        let themes = ["broad_index", "broad_index", "broad_index", "technology", "consumer", "healthcare", "dividend", "new_energy"]
        for number in 0..<40 {
            funds.append(securities.count)
            let code = (number % 2 == 0 ? "510" : "159") + Wire.padded(number * 13 % 1_000, width: 3)
            securities.append(Security(code: code, type: .etf, sector: themes[number % themes.count], lot: 100, decimals: 3))
        }
        for number in 0..<20 {
            funds.append(securities.count)
            securities.append(Security(code: "16" + Wire.padded(number * 37 % 10_000, width: 4), type: .fund, sector: "listed_fund", lot: 100, decimals: 3))
        }
        var bonds: [Int] = []
        for number in 0..<30 {
            bonds.append(securities.count)
            let code = (number % 2 == 0 ? "113" : "127") + Wire.padded(number * 17 % 1_000, width: 3)
            securities.append(Security(code: code, type: .bond, sector: Self.sectors[random.below(Self.sectors.count)], lot: 10, decimals: 3))
        }
        repo = securities.count
        securities.append(Security(code: "204001", type: .repo, sector: "", lot: 10, decimals: 3))

        // Prices: a common market factor plus each security's own noise, daily, in log space.
        var marketFactor = [Double](repeating: 0, count: days)
        for day in 1..<days {
            marketFactor[day] = marketFactor[day - 1] + 0.0002 + 0.009 * random.normal()
        }
        var prices: [Int64] = []
        prices.reserveCapacity(securities.count * days)
        for security in securities {
            let start: Double
            let sigma: Double
            let beta: Double
            let tick: Int64
            switch security.type {
            case .stock:
                start = min(1_500, max(2, random.logNormal(median: 14, sigma: 0.8)))
                sigma = 0.018; beta = 1; tick = 10
            case .etf, .fund:
                start = min(8, max(0.5, random.logNormal(median: 1.6, sigma: 0.5)))
                sigma = 0.006; beta = 0.9; tick = 1
            case .bond:
                start = random.uniform(100, 150)
                sigma = 0.006; beta = 0.3; tick = 1
            default:
                start = random.uniform(1.4, 2.2)
                sigma = 0.02; beta = 0; tick = 1
            }
            var level = 0.0
            for day in 0..<days {
                if day > 0 { level += sigma * random.normal() }
                let value = start * exp(level + beta * marketFactor[day]) * 1_000
                prices.append(max(tick, Int64(value / Double(tick)) * tick))
            }
        }
        self.securities = securities
        self.stocksBySector = bySector
        self.funds = funds
        self.bonds = bonds
        self.prices = prices

        // Product values: the mid of the expected return as drift, with a family's volatility.
        var navs: [Double] = []
        navs.reserveCapacity(products.count * days)
        for product in products {
            let drift = product.expectedReturnMid / 365
            let sigma = product.family.dailyVolatility
            var level = 0.0
            navs.append(1)
            for _ in 1..<days {
                level += drift + sigma * random.normal()
                navs.append(exp(level))
            }
        }
        self.navs = navs
    }

    /// The closing price of `security` on `day` (clamped to the span), in thousandths of a yuan.
    @inline(__always)
    func price(_ security: Int, on day: WorldDay) -> Int64 {
        prices[security * days + offset(day)]
    }

    /// The value of one unit of `product` on `day` relative to the span's first day.
    @inline(__always)
    func nav(_ product: Int, on day: WorldDay) -> Double {
        navs[product * days + offset(day)]
    }

    @inline(__always)
    private func offset(_ day: WorldDay) -> Int {
        Int(min(max(day, firstDay), lastDay) - firstDay)
    }

    /// The value of `quantity` units at a price in thousandths of a yuan, in fen.
    @inline(__always)
    static func value(quantity: Int64, priceMilli: Int64) -> Int64 {
        (quantity * priceMilli + 5) / 10
    }
}

extension WorldFamily {
    /// Daily volatility of the family's net asset values.
    var dailyVolatility: Double {
        switch self {
        case .moneyMarketFund: return 0
        case .bondFund: return 0.0008
        case .mixedFund: return 0.009
        case .equityFund: return 0.012
        case .indexFund: return 0.011
        case .qdiiFund: return 0.01
        case .bond: return 0.0015
        case .assetManagement: return 0.003
        case .structuredNote: return 0.002
        case .advisoryPackage: return 0.005
        }
    }
}
