import CRMProtos
import Foundation
import Testing
@testable import CRMWorld

/// The second world's buying law: purchases per product from behaviour, a probability recorded for
/// every (customer, product, month), state computed from the very events the world emits.
@Suite struct BehaviourLawTests {
    static let world = World(WorldConfiguration(customers: 1_500, seed: 20_261_204, products: 300, law: .behaviour))
    static let customers: [GeneratedCustomer] = (0..<world.configuration.customers).map { world.customer(at: $0) }

    @Test func theSameSeedGivesTheSameWorldAndTheLawChangesWhatIsBought() throws {
        let again = World(WorldConfiguration(customers: 1_500, seed: 20_261_204, products: 300, law: .behaviour))
        for index in stride(from: 0, to: 1_500, by: 97) {
            #expect(try ReproducibilityTests.bytes(again.customer(at: index)) == ReproducibilityTests.bytes(Self.customers[index]))
            let redemptions: [[UInt8]] = try again.customer(at: index).redemptions.map { try $0.serializedBytes() }
            let original: [[UInt8]] = try Self.customers[index].redemptions.map { try $0.serializedBytes() }
            #expect(redemptions == original)
        }
        let other = World(WorldConfiguration(customers: 1_500, seed: 20_261_204, products: 300))
        let purchases = Self.customers.prefix(300).map { $0.purchases.map(\.order.orderID) }
        let otherPurchases = (0..<300).map { other.customer(at: $0).purchases.map(\.order.orderID) }
        #expect(purchases != otherPurchases)
    }

    @Test func everyPurchaseIsOfAProductOnSaleThatSuitsTheBuyerWithItsRecordedProbability() throws {
        var purchases = 0
        for customer in Self.customers {
            for purchase in customer.purchases {
                purchases += 1
                let product = Self.world.products[purchase.productIndex]
                #expect(product.isPurchasable(inMonth: purchase.month))
                #expect(customer.months[purchase.month].eligible)
                #expect(Self.world.trueProbability(of: customer, product: product, month: purchase.month) > 0)
            }
            // Ids are unique, two products of one family in a month included.
            #expect(Set(customer.purchases.map(\.order.orderID)).count == customer.purchases.count)
            for order in customer.redemptions {
                #expect(order.side == .redemption && order.amount.minorUnits > 0)
            }
        }
        #expect(purchases > 500, "\(purchases) purchases")
    }

    /// Purchases happen as often as the recorded probabilities say: over every (customer, product,
    /// month), the number bought is within five standard deviations of the probabilities' sum.
    @Test func theRecordedProbabilitiesAreTheOnesPurchasesWereDrawnWith() {
        var expected = 0.0, variance = 0.0, knowable = 0.0
        var bought = 0
        for customer in Self.customers {
            for month in 0..<Self.world.configuration.months {
                for product in Self.world.products {
                    let p = Self.world.trueProbability(of: customer, product: product, month: month)
                    guard p > 0 else { continue }
                    expected += p
                    variance += p * (1 - p)
                    knowable += Self.world.knowableProbability(of: customer, product: product, month: month)
                }
            }
            bought += customer.purchases.count
        }
        #expect(abs(Double(bought) - expected) < 5 * variance.squareRoot(), "bought \(bought), expected \(expected) ± \(variance.squareRoot())")
        // The noise is centred on the knowable log-odds: the knowable probabilities are close to the truth on average.
        #expect(abs(knowable - expected) < 0.2 * expected, "knowable \(knowable) vs true \(expected)")
    }

    /// The state the law read at each month's start is what the customer's own events show then:
    /// views by family in 7 / 30 / 90 days, contacts about a family (by the product they name), and
    /// earlier purchases.
    @Test func theLawReadsWhatTheEmittedEventsShowAtTheMonthsStart() throws {
        let calendar = Self.world.calendar
        var checked = 0
        for customer in Self.customers.prefix(400) {
            for month in 0..<Self.world.configuration.months {
                guard let behaviour = customer.months[month].behaviour else { Issue.record("no behaviour state"); return }
                let state = behaviour.state
                let asOf = calendar.months[calendar.warmUpMonths + month].firstDay - 1
                #expect(state.asOf == asOf)
                var views30 = [Int](repeating: 0, count: WorldFamily.allCases.count)
                for view in customer.events.productViews {
                    let day = WorldDays.day(ofMillis: view.viewedAt.unixMillis)
                    guard day <= asOf, asOf - day < 30, let family = Self.world.product(code: view.productCode)?.family else { continue }
                    views30[family.rawValue] += 1
                }
                #expect(state.views30 == views30)
                var bought = [Int](repeating: 0, count: WorldFamily.allCases.count)
                for purchase in customer.purchases where purchase.day <= asOf { bought[purchase.family.rawValue] += 1 }
                #expect(state.purchases == bought)
                var lastAbout = [Int?](repeating: nil, count: WorldFamily.allCases.count)
                for contact in customer.events.serviceContacts where !contact.productCode.isEmpty {
                    let day = WorldDays.day(ofMillis: contact.contactedAt.unixMillis)
                    guard day <= asOf, let family = Self.world.product(code: contact.productCode)?.family else { continue }
                    lastAbout[family.rawValue] = min(lastAbout[family.rawValue] ?? .max, Int(asOf - day))
                }
                #expect(state.daysSinceContactAbout == lastAbout)
                checked += 1
            }
        }
        #expect(checked == 400 * Self.world.configuration.months)
    }

    @Test func theHeldOutMonthHasEnoughBuyersPerTopProduct() {
        let month = Self.world.configuration.heldOutMonth
        var buyers: [String: Int] = [:]
        for customer in Self.customers {
            for purchase in customer.purchases where purchase.month == month { buyers[purchase.order.productCode, default: 0] += 1 }
        }
        let top = buyers.values.sorted(by: >).prefix(20)
        print("behaviour world, \(Self.customers.count) customers: held-out purchases \(buyers.values.reduce(0, +)) over \(buyers.count) products; top 20: \(Array(top))")
        #expect(top.count == 20)
    }
}
