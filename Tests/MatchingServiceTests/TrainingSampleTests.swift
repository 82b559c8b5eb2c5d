import CRMProtos
import Foundation
import Testing
@testable import MatchingService

/// The negative sample TrainModel draws so a large book fits its row budget: every positive stays
/// with weight 1, each kept negative weighs 1 / the share kept (so weighted sums, and with them
/// the model's probabilities, estimate the whole population's), the draw is a function of the
/// seed and the (customer, family, month) cell alone, and the share kept follows from the budget.
struct TrainingSampleTests {
    static let month = BusinessMonth(year: 2026, month: 3)

    /// A month of `customers` customers, each able to buy families 0, 2 and 5, with no behaviour.
    static func monthRows(customers: Int) -> MonthRows {
        let rows = (0..<customers).map { index in
            SnapshotRow(Crm_Profiles_V1_CustomerDimensions.with {
                $0.customerID = String(format: "S%06d", index)
                $0.numbers = ["total_assets": Double(index)]
            })
        }
        let mask: UInt16 = (1 << 0) | (1 << 2) | (1 << 5)
        return MonthRows(month: month, start: BusinessDays.millis(ofDay: month.firstDay), rows: rows, behaviour: [:],
                         sellable: Array(repeating: mask, count: customers), profiles: Array(repeating: nil, count: customers), available: [:])
    }

    /// Every third customer bought from family 2 in the month.
    static func positives(customers: Int) -> Set<ModelTrainer.FamilyPurchase> {
        Set(stride(from: 0, to: customers, by: 3).map { ModelTrainer.FamilyPurchase(customer: String(format: "S%06d", $0), family: 2) })
    }

    struct Visited: Hashable {
        let position: Int
        let family: Int
        let label: Bool
        let weight: Float
    }

    static func sample(_ rows: MonthRows, positives: Set<ModelTrainer.FamilyPurchase>, keep: Double, seed: UInt64) -> [Visited] {
        let space = FeatureSpace(knownDimensions: Set(SnapshotRow.names))
        var visited: [Visited] = []
        rows.forEachRow(space: space, positives: positives, keep: keep, seed: seed) { position, family, label, weight, features in
            #expect(features.count == space.count)
            visited.append(Visited(position: position, family: family, label: label, weight: weight))
        }
        return visited
    }

    @Test func everyPositiveStaysAndEachKeptNegativeWeighsOneOverTheShareKept() {
        let rows = Self.monthRows(customers: 3_000)
        let positives = Self.positives(customers: 3_000)
        let visited = Self.sample(rows, positives: positives, keep: 0.25, seed: 7)
        let kept = visited.filter(\.label)
        #expect(kept.count == positives.count)
        #expect(kept.allSatisfy { $0.weight == 1 && $0.family == 2 })
        let negatives = visited.filter { !$0.label }
        #expect(negatives.allSatisfy { $0.weight == 4 })
        // 9,000 sellable cells, 1,000 positive: the 8,000 negatives are kept at a quarter, within
        // a binomial spread (sd ≈ 39) of 2,000, and the weighted count estimates all of them.
        #expect((1_800...2_200).contains(negatives.count), "\(negatives.count) negatives kept of 8,000 at 0.25")
        let weighted = negatives.reduce(0) { $0 + Double($1.weight) }
        #expect(abs(weighted - 8_000) < 800)
        // Keeping everything visits every sellable cell once, each with weight 1.
        let all = Self.sample(rows, positives: positives, keep: 1, seed: 7)
        #expect(all.count == rows.sellable.reduce(0) { $0 + $1.nonzeroBitCount } && all.allSatisfy { $0.weight == 1 })
        #expect(Set(all.map { "\($0.position)/\($0.family)" }).count == 9_000)
    }

    @Test func theSampleIsAFunctionOfTheSeedAndTheCellAlone() {
        let rows = Self.monthRows(customers: 2_000)
        let positives = Self.positives(customers: 2_000)
        let first = Self.sample(rows, positives: positives, keep: 0.1, seed: 11)
        #expect(Self.sample(rows, positives: positives, keep: 0.1, seed: 11) == first)
        let other = Self.sample(rows, positives: positives, keep: 0.1, seed: 12)
        #expect(other != first)
        #expect(other.filter(\.label) == first.filter(\.label))
        // A larger share keeps a superset of a smaller one's negatives (the same draw per cell,
        // a higher threshold), so raising the budget only adds rows.
        let larger = Set(Self.sample(rows, positives: positives, keep: 0.3, seed: 11).filter { !$0.label }.map { "\($0.position)/\($0.family)" })
        #expect(first.filter { !$0.label }.allSatisfy { larger.contains("\($0.position)/\($0.family)") })
        // The draw does not depend on the customer's place in the month's list.
        let cell = ModelTrainer.unitHash("S000042", 5, Self.month, 11)
        #expect(cell == ModelTrainer.unitHash("S000042", 5, Self.month, 11))
        #expect(cell != ModelTrainer.unitHash("S000042", 5, Self.month.previous, 11))
    }

    @Test func theRowBudgetSetsTheNegativesPerPositive() {
        // 400,000 positives over a year under the default budget of 3,000,000 rows: 6 negatives
        // per positive (2,600,000 / 400,000, rounded down), not the 200 asked for.
        #expect(ModelTrainer.negativesPerPositive(asked: 200, positives: 400_000, maxRows: 3_000_000) == 6)
        // A small book keeps what was asked for.
        #expect(ModelTrainer.negativesPerPositive(asked: 200, positives: 5_000, maxRows: 3_000_000) == 200)
        // At least one negative per positive, even when the positives alone pass the budget.
        #expect(ModelTrainer.negativesPerPositive(asked: 200, positives: 4_000_000, maxRows: 3_000_000) == 1)
        // The share of a month's negatives kept: its positives times the ratio, over its negatives.
        #expect(ModelTrainer.keptShare(positives: 1_000, negativesPerPositive: 6, sellableCells: 61_000) == 0.1)
        #expect(ModelTrainer.keptShare(positives: 1_000, negativesPerPositive: 200, sellableCells: 61_000) == 1)
    }
}

/// The row budget and the month-end page are settings of the service, checked at start-up.
struct TrainingSettingsTests {
    @Test func theRowBudgetAndTheMonthEndPageHaveDefaultsAndBounds() throws {
        let defaults = try MatchingSettings([:])
        #expect(defaults.maxTrainingRows == ModelTrainer.Options.defaultMaxRows)
        #expect(defaults.monthEndPage == 20_000)
        let chosen = try MatchingSettings(["model.max_rows": "500000", "model.snapshot_page": "100000"])
        #expect(chosen.maxTrainingRows == 500_000 && chosen.monthEndPage == 100_000)
        #expect(throws: (any Error).self) { try MatchingSettings(["model.max_rows": "5"]) }
        #expect(throws: (any Error).self) { try MatchingSettings(["model.snapshot_page": "0"]) }
    }
}

/// A month-end snapshot's rows are read straight from profiles' encoded messages: the same row as
/// decoding the message first.
struct SnapshotWireTests {
    @Test func aRowReadFromTheBytesEqualsTheRowOfTheDecodedMessage() throws {
        let message = Crm_Profiles_V1_CustomerDimensions.with {
            $0.customerID = "C-雪-0001"
            $0.numbers = ["total_assets": 1_234_567.5, "cash": 0, "age_years": 41, "product_value_bond": 88_000.25,
                          "not_a_feature_at_all_with_a_long_name": 3, "days_since_last_view": .nan]
            $0.categories = ["most_viewed_product_type_90d": "FUND_BOND", "largest_product_type": "equity", "province": "广东"]
            $0.classes = ["value": "high"]
            $0.asOf = .with { $0.year = 2026; $0.month = 9; $0.day = 30 }
            $0.numberPositions = [3, 4]
            $0.numberValues = [1.5, 2.5]
        }
        let bytes: Data = try message.serializedBytes()
        let fromWire = try SnapshotRow(wire: bytes)
        let decoded = SnapshotRow(message)
        #expect(fromWire.customerID == "C-雪-0001")
        #expect(fromWire.customerID == decoded.customerID)
        #expect(fromWire.values.map(\.bitPattern) == decoded.values.map(\.bitPattern))
        #expect(fromWire.value("total_assets") == 1_234_567.5 && fromWire.value("product_value_bond") == 88_000.25)
        #expect(fromWire.value("holdings_count").isNaN)
        #expect(fromWire.mostViewedType == "FUND_BOND" && fromWire.largestFamily == "equity")
        #expect(fromWire.mostViewedType == decoded.mostViewedType && fromWire.largestFamily == decoded.largestFamily)
        // The day it was computed for (a call for several days answers each customer once per day).
        #expect(fromWire.asOf == BusinessDays.day(message.asOf))
        // A message cut short is refused, not read as a shorter one.
        #expect(throws: (any Error).self) { try SnapshotRow(wire: bytes.prefix(bytes.count - 3)) }
    }

    /// The compact answer (StreamDimensionsAsOf's `positional`) read through profiles' dictionary
    /// gives the row the name-keyed answer gives, for a dictionary in any order and with entries
    /// a row does not keep; a position past the dictionary (it grew since it was read) is skipped.
    @Test func aPositionalAnswerReadsAsTheNamedOne() throws {
        let dictionary = ["province", "cash", "not_a_feature_at_all_with_a_long_name", "most_viewed_product_type_90d", "total_assets",
                          "largest_product_type", "product_value_bond", "age_years", "days_since_last_view"]
        let numbers: [String: Double] = ["total_assets": 1_234_567.5, "cash": 0, "age_years": 41, "product_value_bond": 88_000.25,
                                         "not_a_feature_at_all_with_a_long_name": 3, "days_since_last_view": .nan]
        let categories = ["most_viewed_product_type_90d": "FUND_BOND", "largest_product_type": "equity", "province": "广东"]
        let named = Crm_Profiles_V1_CustomerDimensions.with {
            $0.customerID = "C-0002"
            $0.numbers = numbers
            $0.categories = categories
            $0.asOf = .with { $0.year = 2026; $0.month = 9; $0.day = 30 }
        }
        let positional = Crm_Profiles_V1_CustomerDimensions.with {
            $0.customerID = "C-0002"
            let sortedNumbers = numbers.sorted { $0.key < $1.key }
            $0.numberPositions = sortedNumbers.compactMap { entry in dictionary.firstIndex(of: entry.key).map(UInt32.init) } + [UInt32(dictionary.count)]
            $0.numberValues = sortedNumbers.map(\.value) + [99]
            let sortedCategories = categories.sorted { $0.key < $1.key }
            $0.categoryPositions = sortedCategories.compactMap { entry in dictionary.firstIndex(of: entry.key).map(UInt32.init) }
            $0.categoryValues = sortedCategories.map(\.value)
            $0.classPositions = [0]
            $0.classValues = ["high"]
            $0.asOf = .with { $0.year = 2026; $0.month = 9; $0.day = 30 }
        }
        let layout = SnapshotLayout(dimensions: dictionary)
        let fromNames = try SnapshotRow(wire: try named.serializedBytes())
        let fromPositions = try SnapshotRow(wire: try positional.serializedBytes(), layout: layout)
        #expect(fromPositions.customerID == "C-0002" && fromPositions.asOf == fromNames.asOf)
        #expect(fromPositions.values.map(\.bitPattern) == fromNames.values.map(\.bitPattern))
        #expect(fromPositions.value("total_assets") == 1_234_567.5 && fromPositions.value("cash") == 0)
        #expect(fromPositions.mostViewedType == "FUND_BOND" && fromPositions.largestFamily == "equity")
        // Without the dictionary the positions mean nothing: nothing is read from them.
        let blind = try SnapshotRow(wire: try positional.serializedBytes())
        #expect(blind.values.allSatisfy(\.isNaN) && blind.mostViewedType.isEmpty)
        let bytes: Data = try positional.serializedBytes()
        #expect(throws: (any Error).self) { try SnapshotRow(wire: bytes.prefix(bytes.count - 3), layout: layout) }
    }
}
