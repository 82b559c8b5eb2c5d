import CRMProtos
import CRMWorld

/// One world shared by the tests (generated once per test process): 2,000 customers, 400 products.
enum WorldFixture {
    static let world = World(WorldConfiguration(customers: 2_000, seed: 20_251_101))

    /// Every customer of ``world``, generated once.
    static let customers: [GeneratedCustomer] = (0..<world.configuration.customers).map { world.customer(at: $0) }

    /// The end-of-span total assets of every customer with a position (cash + securities + products).
    static var finalAssets: [Int64] {
        customers.compactMap { customer in
            customer.events.dailyPositions.last.map(total)
        }
    }

    static func total(_ position: Crm_Profiles_V1_DailyPositionEvent) -> Int64 {
        position.cash.minorUnits + position.holdings.reduce(0) { $0 + $1.marketValue.minorUnits }
            + position.products.reduce(0) { $0 + $1.marketValue.minorUnits }
    }

    static func day(_ date: Crm_Common_V1_Date) -> WorldDay {
        WorldDays.day(of: date)
    }
}
