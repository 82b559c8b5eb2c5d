import CRMPartitions
import CRMProtos
import CRMRPC
import CRMTestSupport
@testable import ProfilesService
import Testing

/// Streams across customers through any owner (docs/partitioning.md §6): StreamCustomers and
/// StreamDimensionsAsOf asked of one owner hold every owner's customers, merged in customer id
/// order, from the same resume point and up to the same limit as one process holding everyone.
/// Two owners of 8 partitions in process (127.0.0.1, port 0, their own SQLite files) beside the
/// reference; every event day is a fixed June 2026 date.
@Suite(.serialized) struct PartitionedStreamsTests {
    typealias Firm = BusinessDayGossipTests.Firm

    /// Customers of both owners, with trades on several June days, written through profiles-0 (which
    /// forwards profiles-1's) and to the reference.
    static func load(_ firm: Firm) async throws -> [String] {
        var ids: [String] = []
        for index in 0..<6 {
            ids.append(try BusinessDayGossipTests.customer(of: 0, "p\(index)x"))
            ids.append(try BusinessDayGossipTests.customer(of: 1, "q\(index)y"))
        }
        let ingest = firm.owners[0].client(token: "ingest"), reference = firm.reference.client(token: "ingest")
        for id in ids {
            try await BusinessDayGossipTests.upsert(ingest, id)
            try await BusinessDayGossipTests.upsert(reference, id)
        }
        let trades = ids.enumerated().flatMap { place, id in
            [ProfilesHarness.trade("\(id)-a", customer: id, amountFen: Int64(100_000 * (place + 1)), day: Int32(2 + place)),
             ProfilesHarness.trade("\(id)-b", customer: id, amountFen: 250_000, day: 21)]
        }
        try await BusinessDayGossipTests.ingest(ingest, trades)
        try await BusinessDayGossipTests.ingest(reference, trades)
        await ingest.close()
        await reference.close()
        for service in firm.owners + [firm.reference] {
            _ = try await BusinessDayGossipTests.settled(service, on: "2026-06-21")
        }
        return ids.sorted()
    }

    static func customers(_ service: InProcessService<ProfilesService>, _ request: Crm_Profiles_V1_StreamCustomersRequest) async throws -> [Crm_Profiles_V1_Customer] {
        try await BusinessDayGossipTests.asOffice(service) { client in
            try await client.serverStreaming(Crm_Profiles_V1_Profiles.streamCustomers, request).collect().map { customer in
                var customer = customer
                customer.clearUpdatedAt()  // each process stamps its own write
                return customer
            }
        }
    }

    static func dimensions(_ service: InProcessService<ProfilesService>, _ request: Crm_Profiles_V1_StreamDimensionsAsOfRequest) async throws -> [Crm_Profiles_V1_CustomerDimensions] {
        try await BusinessDayGossipTests.asOffice(service) { client in
            try await client.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, request).collect()
        }
    }

    @Test func streamsThroughAnyOwnerHoldEveryOwnersCustomersInOrder() async throws {
        try await withService(try await Firm.start()) { firm in
            let ids = try await Self.load(firm)
            let requests: [Crm_Profiles_V1_StreamCustomersRequest] = [
                .init(), .with { $0.limit = 5 }, .with { $0.afterCustomerID = ids[3] }, .with { $0.afterCustomerID = ids[3]; $0.limit = 4 },
                .with { $0.afterCustomerID = ids[10]; $0.limit = 4 },
            ]
            for request in requests {
                let expected = try await Self.customers(firm.reference, request)
                #expect(!expected.isEmpty)
                for owner in firm.owners {
                    #expect(try await Self.customers(owner, request) == expected, "after \(request.afterCustomerID) limit \(request.limit)")
                }
            }
            #expect(try await Self.customers(firm.owners[1], .init()).map(\.customerID) == ids)
        }
    }

    /// The value of `series` in a service's metrics exposition.
    static func sample(_ service: InProcessService<ProfilesService>, _ series: String) async -> Double? {
        let text = String(decoding: await service.metrics.exposition(), as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    /// A bulk stream forwarded to another owner runs on a connection of its own (bounded, so the
    /// owner's answer cannot pile up in the forwarding process), opened per stream and closed once
    /// the stream is gone — read to its end or abandoned after its first message.
    @Test func aForwardedBulkStreamHasAConnectionOfItsOwnClosedWhenTheStreamGoes() async throws {
        try await withService(try await Firm.start()) { firm in
            let ids = try await Self.load(firm)
            let owner = firm.owners[1]
            let open = "crm_rpc_server_connections{service=\"profiles\"}"
            let accepted = "crm_rpc_server_connections_accepted_total{service=\"profiles\"}"
            let request = Crm_Profiles_V1_StreamDimensionsAsOfRequest.with { $0.asOf = .init(year: 2026, month: 6, day: 21) }
            let expected = try await Self.dimensions(firm.reference, request)
            #expect(expected.count == ids.count)
            let client = firm.owners[0].client(token: "office")
            // The forwarding process's shared connection to the other owner is open already (the
            // load forwarded its writes); what follows is counted from here.
            let openBefore = try #require(await Self.sample(owner, open))
            let acceptedBefore = try #require(await Self.sample(owner, accepted))
            for _ in 0..<3 {
                #expect(try await client.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, request).collect() == expected)
            }
            for try await _ in try await client.serverStreaming(Crm_Profiles_V1_Profiles.streamDimensionsAsOf, request) { break }
            let acceptedAfter = try #require(await Self.sample(owner, accepted))
            #expect(acceptedAfter - acceptedBefore == 4, "one connection per forwarded stream")
            try await waitUntil { await Self.sample(owner, open) == openBefore }
            await client.close()
        }
    }

    @Test func monthEndDimensionsThroughAnyOwnerEqualTheSingleProcesssByteForByte() async throws {
        try await withService(try await Firm.start()) { firm in
            let ids = try await Self.load(firm)
            let days: [Crm_Common_V1_Date] = [.init(year: 2026, month: 6, day: 5), .init(year: 2026, month: 6, day: 21)]
            let requests: [Crm_Profiles_V1_StreamDimensionsAsOfRequest] = [
                .with { $0.asOf = days[1] },
                .with { $0.asOfDays = days; $0.positional = true },
                .with { $0.asOfDays = days; $0.positional = true; $0.limit = 3 },
                .with { $0.asOfDays = days; $0.afterCustomerID = ids[4]; $0.limit = 5 },
            ]
            for request in requests {
                let expected = try await Self.dimensions(firm.reference, request)
                let perDay = request.asOfDays.isEmpty ? 1 : request.asOfDays.count
                let customers = request.limit == 0 ? ids.filter { $0 > request.afterCustomerID }.count : Int(request.limit)
                #expect(expected.count == customers * perDay)
                for owner in firm.owners {
                    let answer = try await Self.dimensions(owner, request)
                    #expect(answer == expected, "limit \(request.limit) after \(request.afterCustomerID) days \(request.asOfDays.count)")
                }
            }
        }
    }
}
