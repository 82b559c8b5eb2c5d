import CRMPartitions
import CRMProtos
import CRMRPC
import CRMTestSupport
import CRMWorld
import CRMWorldLoader
@testable import CustomerDimensions
import Foundation
import GRDB
import SwiftProtobuf
import Testing
@testable import ProfilesService

/// StreamDimensionsAsOf's pages must be exactly what folding the whole event log in order gives, for
/// every page size, on a generated year where customers' later events change their values: the
/// guard for any faster way to answer it (an index by customer was tried and measured, see
/// BENCHMARKS.md, and not adopted for its cost to ingestion).
@Suite struct PointInTimePagesTests {
    /// The straightforward answer: every event of the log in stored order, the page's customers'
    /// ones on or before the day folded into fresh ledgers.
    static func reference(_ db: Database, asOf: DayNumber, after: String, limit: Int, classifier: Classifier) throws -> [Crm_Profiles_V1_CustomerDimensions] {
        let customers = try Row.fetchAll(db, sql: "SELECT * FROM customer WHERE customer_id > ? ORDER BY customer_id LIMIT ?", arguments: [after, limit])
            .map(CustomerStore.customer(from:))
        let page = Set(customers.map(\.customerID))
        var ledgers: [String: CustomerLedger] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT kind, customer_id, day, body FROM event NOT INDEXED ORDER BY id") {
            let customer: String = row[1]
            guard page.contains(customer), (row[2] as DayNumber) <= asOf else { continue }
            guard let kind = EventKind(rawValue: row[0]), let event = try EventDecoding.decode(kind: kind, body: row[3]) else { continue }
            ledgers[customer, default: CustomerLedger()].apply(event)
        }
        return try customers.map { customer in
            let facts = try DimensionUpdater.facts(db, customer: customer, assessedOnOrBefore: asOf)
            let values = DimensionEngine.compute(ledger: ledgers[customer.customerID] ?? CustomerLedger(), customer: facts, asOf: asOf)
            let stored = StoredDimensions.aligned(values, classes: classifier.classes(values, customer: facts))
            return stored.message(customerID: customer.customerID, schemes: DimensionsView.schemeNames)
        }
    }

    /// The message's bytes with map entries in key order (a map's own order is a dictionary's).
    static func bytes(_ message: Crm_Profiles_V1_CustomerDimensions) throws -> [UInt8] {
        var options = BinaryEncodingOptions()
        options.useDeterministicOrdering = true
        return try message.serializedBytes(options: options)
    }

    /// A positional answer (StreamDimensionsAsOfRequest's `positional`) put back in the name-keyed
    /// form through the dictionary, so it can be compared with the named answer byte for byte.
    static func named(_ message: Crm_Profiles_V1_CustomerDimensions, dimensions: [String], schemes: [String]) -> Crm_Profiles_V1_CustomerDimensions {
        var named = message
        named.numberPositions = []
        named.numberValues = []
        named.categoryPositions = []
        named.categoryValues = []
        named.classPositions = []
        named.classValues = []
        for (position, value) in zip(message.numberPositions, message.numberValues) { named.numbers[dimensions[Int(position)]] = value }
        for (position, value) in zip(message.categoryPositions, message.categoryValues) { named.categories[dimensions[Int(position)]] = value }
        for (position, value) in zip(message.classPositions, message.classValues) { named.classes[schemes[Int(position)]] = value }
        return named
    }

    @Test func pagesThroughTheIndexAnswerWhatFoldingTheWholeLogAnswers() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            let world = World(WorldConfiguration(customers: 40, seed: 20_261_205))
            let customers = Array(world.customers(0..<40))
            let client = harness.office
            for customer in customers {
                try await customer.create(through: client)
            }
            // Kind by kind across all customers, as the loader sends them: a customer's events are
            // stored in an order that is not their days' order (trades of December before positions
            // of November), so a page must apply them in stored (id) order, not by day.
            for call in IngestionCall.batches(of: customers.map(\.events), batchSize: 1_000) {
                _ = try await call.send(through: client)
            }
            let stored = try await harness.eventCount()
            #expect(stored > 40 * 12, "a year of events per customer")

            let classifier = try Classifier(configuration: ClassificationConfiguration(settings: [:]))
            let dictionary = try await client.unary(Crm_Profiles_V1_Profiles.listDimensions, Crm_Profiles_V1_ListDimensionsRequest()).dimensions.map(\.name)
            let schemes = try await client.unary(Crm_Profiles_V1_Profiles.listClassificationSchemes, Crm_Profiles_V1_ListClassificationSchemesRequest()).schemes.map(\.name)
            let configuration = world.configuration
            // Month-ends across the year (and one mid-month day), each answered whole and in pages.
            let days = [0, 1, 4, 8, configuration.months - 1].map { configuration.month($0).lastDay } + [configuration.month(5).firstDay + 14]
            var answers: [[Crm_Profiles_V1_CustomerDimensions]] = []
            for day in days {
                let expected = try await harness.service.database.read { db in
                    try Self.reference(db, asOf: day, after: "", limit: Int.max, classifier: classifier)
                }
                #expect(expected.count == 40)
                for limit: UInt32 in [0, 1, 7, 40] {
                    var served: [Crm_Profiles_V1_CustomerDimensions] = []
                    while true {
                        let page = try await client.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, Crm_Profiles_V1_StreamDimensionsAsOfRequest.with {
                            $0.asOf = WorldDays.date(day)
                            $0.afterCustomerID = served.last?.customerID ?? ""
                            $0.limit = limit
                        }).collect()
                        served += page
                        if limit == 0 || page.count < limit { break }
                    }
                    #expect(served.map(\.customerID) == expected.map(\.customerID), "as of \(day), pages of \(limit)")
                    #expect(try served.map(Self.bytes) == expected.map(Self.bytes), "as of \(day), pages of \(limit)")
                }
                // The compact answer: the same values by position, with no names.
                let positional = try await client.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, Crm_Profiles_V1_StreamDimensionsAsOfRequest.with {
                    $0.asOf = WorldDays.date(day)
                    $0.positional = true
                }).collect()
                #expect(positional.allSatisfy { $0.numbers.isEmpty && $0.categories.isEmpty && $0.classes.isEmpty && !$0.numberPositions.isEmpty })
                #expect(try positional.map { try Self.bytes(Self.named($0, dimensions: dictionary, schemes: schemes)) } == expected.map(Self.bytes), "as of \(day), positional")
                answers.append(expected)
            }
            // All the days in one call (as_of_days, given out of order and with a repeat): per
            // customer, one message per distinct day in ascending order, each byte for byte the
            // answer for that day alone (so rows for a month-end still read only what was known
            // by then), in pages of 1, 7 and every customer.
            let ascending = days.indices.sorted { days[$0] < days[$1] }
            // The same in the compact form (positional), put back in the named form to compare.
            for (limit, positional) in [(UInt32(0), false), (1, false), (7, false), (0, true), (7, true)] {
                var served: [Crm_Profiles_V1_CustomerDimensions] = []
                var customersServed = 0
                while true {
                    let page = try await client.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, Crm_Profiles_V1_StreamDimensionsAsOfRequest.with {
                        $0.asOfDays = (days.reversed() + [days[0]]).map(WorldDays.date)
                        $0.afterCustomerID = served.last?.customerID ?? ""
                        $0.limit = limit
                        $0.positional = positional
                    }).collect()
                    #expect(!positional || page.allSatisfy { $0.numbers.isEmpty && !$0.numberPositions.isEmpty }, "positional answers carry no names")
                    served += positional ? page.map { Self.named($0, dimensions: dictionary, schemes: schemes) } : page
                    let customers = Set(page.map(\.customerID)).count
                    customersServed += customers
                    if limit == 0 || customers < limit { break }
                }
                #expect(customersServed == 40, "pages of \(limit)\(positional ? ", positional" : "")")
                let expected = (0..<40).flatMap { customer in ascending.map { answers[$0][customer] } }
                #expect(served.map(\.customerID) == expected.map(\.customerID), "several days, pages of \(limit)\(positional ? ", positional" : "")")
                #expect(served.map(\.asOf) == expected.map(\.asOf), "several days, pages of \(limit)\(positional ? ", positional" : "")")
                #expect(try served.map(Self.bytes) == expected.map(Self.bytes), "several days, pages of \(limit)\(positional ? ", positional" : "")")
            }
            // Only some partitions' customers (a matching group's month-ends): the answer for every
            // customer less the others, in pages that count and resume among those customers, for
            // one day and for several; a partition outside the firm's count is refused by name.
            let partitioning = try Partitioning(count: Partitioning.defaultCount)
            let wanted = Set(customers.map { partitioning.partition(of: $0.id) }.prefix(5))
            let mine = (0..<40).filter { wanted.contains(partitioning.partition(of: answers[0][$0].customerID)) }
            #expect(!mine.isEmpty && mine.count < 40)
            for (limit, several) in [(UInt32(0), false), (2, false), (0, true), (3, true)] {
                var served: [Crm_Profiles_V1_CustomerDimensions] = []
                while true {
                    let page = try await client.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, Crm_Profiles_V1_StreamDimensionsAsOfRequest.with {
                        if several { $0.asOfDays = days.map(WorldDays.date) } else { $0.asOf = WorldDays.date(days[0]) }
                        $0.afterCustomerID = served.last?.customerID ?? ""
                        $0.limit = limit
                        $0.partitions = wanted.sorted().map { UInt32($0) }
                    }).collect()
                    served += page
                    if limit == 0 || Set(page.map(\.customerID)).count < limit { break }
                }
                let expected = several ? mine.flatMap { customer in ascending.map { answers[$0][customer] } } : mine.map { answers[0][$0] }
                #expect(try served.map(Self.bytes) == expected.map(Self.bytes), "partitions \(wanted.sorted()), pages of \(limit), several days \(several)")
            }
            let outside = await statusOf {
                _ = try await client.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, Crm_Profiles_V1_StreamDimensionsAsOfRequest.with {
                    $0.asOf = WorldDays.date(days[0])
                    $0.partitions = [3, UInt32(partitioning.count)]
                }).collect()
            }
            #expect(outside?.code == .invalidArgument && outside?.message.contains("partitions[1]") == true, "\(String(describing: outside?.message))")

            // A single-day request (as_of alone) is what it was; a bad day in the list is refused by name.
            let refused = await statusOf {
                _ = try await client.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, Crm_Profiles_V1_StreamDimensionsAsOfRequest.with {
                    $0.asOfDays = [WorldDays.date(days[0]), .with { $0.year = 2026; $0.month = 2; $0.day = 30 }]
                }).collect()
            }
            #expect(refused?.code == .invalidArgument)
            #expect(refused?.message.contains("as_of_days[1]") == true, "\(String(describing: refused?.message))")

            // The later months' events change what an early month-end would show: had a page read
            // past its day, the comparison above would have failed for these customers.
            let first = answers[0], last = answers[answers.count - 2]
            let traded = zip(first, last).filter { $0.numbers["lifetime_trade_count"] != $1.numbers["lifetime_trade_count"] }.count
            #expect(traded >= 5, "\(traded) of 40 customers traded after the first month-end")
        }
    }
}
