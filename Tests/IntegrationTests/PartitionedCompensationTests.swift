import CRMPartitions
import CRMProtos
import CRMRPC
import CRMTestSupport
import Foundation
import SwiftProtobuf
import Testing

/// Compensation following two real profiles executables that split 8 partitions, beside a
/// compensation following one profiles process holding the same customers and events: both settle
/// the same statements, and after a restart of the first the next month too (every owner's cursor
/// resumed exactly: nothing lost, nothing counted twice).
@Suite(.serialized) struct PartitionedCompensationTests {
    static let count = 8
    /// The types compensation's events feed asks for (its cursor is the last of these).
    static let followedTypes: [Crm_Profiles_V1_EventType] = [.trade, .fundTransfer, .dailyPosition, .marginInterest]

    private func client(_ process: ServiceProcess) -> RPCClient {
        process.adminClient()
    }

    static func millis(_ month: Int, _ day: Int, hour: Int = 10) -> Int64 {
        // 2025-MM-DD at `hour`:00 in Beijing (UTC+8).
        var components = DateComponents()
        components.calendar = Calendar(identifier: .gregorian)
        components.timeZone = TimeZone(secondsFromGMT: 8 * 3_600)
        components.year = 2025
        components.month = month
        components.day = day
        components.hour = hour
        return Int64((components.date?.timeIntervalSince1970 ?? 0) * 1_000)
    }

    /// A month of activity for `customers`: two trades each, margin interest for every third, a
    /// deposit or withdrawal for every fourth, a month-end position each.
    static func activity(_ customers: [String], month: Int) -> (Crm_Profiles_V1_IngestTradesRequest, Crm_Profiles_V1_IngestMarginInterestRequest,
                                                                 Crm_Profiles_V1_IngestFundTransfersRequest, Crm_Profiles_V1_IngestDailyPositionsRequest) {
        var trades: [Crm_Profiles_V1_TradeEvent] = []
        var interest: [Crm_Profiles_V1_MarginInterestEvent] = []
        var transfers: [Crm_Profiles_V1_FundTransferEvent] = []
        var positions: [Crm_Profiles_V1_DailyPositionEvent] = []
        for (index, customer) in customers.enumerated() {
            for trade in 0..<2 {
                trades.append(.with {
                    $0.idempotencyKey = "T\(month)-\(trade)-\(customer)"  // unique: profiles dedupes by (kind, key)
                    $0.customerID = customer
                    $0.account = index % 2 == 0 ? .cash : .margin
                    $0.side = .buy
                    $0.instrument = "600519"
                    $0.instrumentType = .stock
                    $0.sector = "consumer"
                    $0.quantity = 100
                    $0.price = "100.00"
                    $0.amount = .with { $0.minorUnits = 1_000_000 + Int64(index) * 10_000 }
                    $0.commission = .with { $0.minorUnits = 3_000 + Int64(index * 97 + trade * 13) }
                    $0.fees = .with { $0.minorUnits = 20 }
                    // Few days, so lines of both owners' customers share days.
                    $0.tradedAt = .with { $0.unixMillis = millis(month, 3 + (index + trade) % 4) }
                })
            }
            if index % 3 == 0 {
                interest.append(.with {
                    $0.idempotencyKey = "I\(month)-\(customer)"; $0.customerID = customer; $0.amount = .with { $0.minorUnits = 100 + Int64(index) }
                    $0.chargedAt = .with { $0.unixMillis = millis(month, 20) }
                })
            }
            if index % 4 == 0 {
                transfers.append(.with {
                    $0.idempotencyKey = "F\(month)-\(customer)"; $0.customerID = customer; $0.direction = index % 8 == 0 ? .deposit : .withdrawal
                    $0.amount = .with { $0.minorUnits = 40_000 + Int64(index) }; $0.transferredAt = .with { $0.unixMillis = millis(month, 10) }
                })
            }
            positions.append(.with {
                $0.idempotencyKey = "P\(month)-\(customer)"; $0.customerID = customer; $0.tradingDay = .init(year: 2025, month: Int32(month), day: 28)
                $0.cash = .with { $0.minorUnits = 100_000 + Int64(index) * 50_000 }
            })
        }
        return (.with { $0.events = trades }, .with { $0.events = interest }, .with { $0.events = transfers }, .with { $0.events = positions })
    }

    /// Sends a month's activity to each of `entries` (each stores all of it, forwarding what it does not own).
    static func ingest(_ customers: [String], month: Int, into entries: [RPCClient]) async throws {
        let (trades, interest, transfers, positions) = activity(customers, month: month)
        for entry in entries {
            _ = try await entry.unary(Crm_Profiles_V1_Profiles.ingestTrades, trades)
            _ = try await entry.unary(Crm_Profiles_V1_Profiles.ingestMarginInterest, interest)
            _ = try await entry.unary(Crm_Profiles_V1_Profiles.ingestFundTransfers, transfers)
            _ = try await entry.unary(Crm_Profiles_V1_Profiles.ingestDailyPositions, positions)
        }
    }

    /// The last position of each of a profiles process's feeds compensation follows (0 when empty).
    static func ends(of profiles: RPCClient) async throws -> (events: UInt64, changes: UInt64) {
        let events = try await profiles.serverStreaming(Crm_Profiles_V1_Profiles.streamEvents, .with { $0.types = followedTypes }).collect()
        let changes = try await profiles.serverStreaming(Crm_Profiles_V1_Profiles.streamChanges, Crm_Profiles_V1_StreamChangesRequest()).collect()
        return (events.last?.eventID ?? 0, changes.last?.sequence ?? 0)
    }

    /// Waits until `compensation` has applied each feed of each profiles process up to its end, or
    /// past it (`feeds`: the owner's suffix of the cursor name, "" for a single process, and the
    /// process): profiles' dimension updater appends the changes it derives in the background,
    /// after the calls that brought the events have answered, so a feed may grow after its end is read.
    static func waitApplied(_ compensation: RPCClient, _ feeds: [(suffix: String, profiles: RPCClient)]) async throws {
        var expected: [String: UInt64] = [:]
        for (suffix, profiles) in feeds {
            let (events, changes) = try await ends(of: profiles)
            expected["feed.profiles_events\(suffix).position"] = events
            expected["feed.profiles_customers\(suffix).position"] = changes
        }
        try await waitUntil {
            let details = try await compensation.unary(Crm_Rpc_V1_Health.check, Crm_Rpc_V1_HealthCheckRequest()).details
            return expected.allSatisfy { key, end in details[key].flatMap { UInt64($0) }.map { $0 >= end } ?? false }
        }
    }

    /// B1, T1, M1 and M2 (grade G1, one scheme), odd customers with M1 and even ones with M2 from 1 March.
    static func organise(_ compensation: RPCClient, customers: [String]) async throws {
        _ = try await compensation.unary(Crm_Compensation_V1_Compensation.upsertBranches, .with { $0.branches = [.with { $0.branchID = "B1"; $0.name = "Pudong" }] })
        _ = try await compensation.unary(Crm_Compensation_V1_Compensation.upsertTeams, .with { $0.teams = [.with { $0.teamID = "T1"; $0.branchID = "B1"; $0.name = "Wealth" }] })
        _ = try await compensation.unary(Crm_Compensation_V1_Compensation.upsertManagers, .with {
            $0.managers = ["M1", "M2"].map { id in .with { $0.managerID = id; $0.name = "Manager \(id)"; $0.branchID = "B1"; $0.teamID = "T1"; $0.grade = "G1"; $0.status = .active } }
        })
        _ = try await compensation.unary(Crm_Compensation_V1_Compensation.putScheme, .with {
            $0.scheme = .with {
                $0.grade = "G1"
                $0.effectiveFrom = .init(year: 2025, month: 1, day: 1)
                $0.commissionTiers = [.with { $0.lowerFen = 0; $0.upperFen = 20_000; $0.rateBp = 2_000 }, .with { $0.lowerFen = 20_000; $0.rateBp = 3_000 }]
                $0.rates = .with { $0.marginInterestBp = 1_000; $0.productRebateBp = 5_000; $0.advisoryFeeBp = 2_000 }
                $0.deductedCosts = ["transfer"]
            }
        })
        _ = try await compensation.unary(Crm_Compensation_V1_Compensation.assignCustomers, .with {
            $0.assignments = customers.enumerated().map { index, customer in
                .with { $0.customerID = customer; $0.managerID = index % 2 == 0 ? "M2" : "M1"; $0.effectiveFrom = .init(year: 2025, month: 3, day: 1) }
            }
        })
    }

    /// A settled month as comparable text: the summary and each manager's statement, without the
    /// instant it ran and with lines in source-event order (lines of one day are in the order
    /// compensation recorded them, which with two owners followed at once is the order their
    /// followers happened to commit), and the month's figures.
    static func settled(_ compensation: RPCClient, month: String) async throws -> [String] {
        var summary = try await compensation.unary(Crm_Compensation_V1_Compensation.settleMonth, .with { $0.month = month })
        summary.clearSettledAt()
        var results = [summary.textFormatString()]
        for manager in ["M1", "M2"] {
            var statement = try await compensation.unary(Crm_Compensation_V1_Compensation.getStatement, .with { $0.managerID = manager; $0.month = month }).statement
            statement.clearSettledAt()
            statement.lines.sort { $0.sourceEventID < $1.sourceEventID }
            results.append(statement.textFormatString())
        }
        let figures = try await compensation.unary(Crm_Compensation_V1_Compensation.getAssessmentFigures, .with { $0.month = month })
        results.append(figures.textFormatString())
        return results
    }

    /// Each part equal, each difference shown with both texts.
    static func expectSame(_ split: [String], _ whole: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(split.count == whole.count, sourceLocation: sourceLocation)
        for (index, (a, b)) in zip(split, whole).enumerated() {
            #expect(a == b, "part \(index): split\n\(a)\nwhole\n\(b)", sourceLocation: sourceLocation)
        }
    }

    @Test func compensationFollowingTwoOwnersSettlesAsWithOneProcess() async throws {
        let workDir = FileManager.default.temporaryDirectory.appendingPathComponent("crm-comp-parts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDir) }
        let topology = try OwnersTopology(in: workDir, count: Self.count)
        let single = ServiceProcess(service: "profiles", workDir: workDir, name: "profiles-single")
        let split = ServiceProcess(service: "compensation", workDir: workDir, name: "compensation-split")
        let whole = ServiceProcess(service: "compensation", workDir: workDir, name: "compensation-whole")
        let owners = try await topology.startOwners(in: workDir, extra: OwnersTopology.oneFile)
        defer { for process in owners + [single, split, whole] { process.terminate() } }
        try await single.start(arguments: ["--setting", "partitions.count=\(Self.count)"] + OwnersTopology.oneFile)
        let first = client(owners[0]), second = client(owners[1]), reference = client(single)

        // Customers on both owners, each sent to both sides through one endpoint.
        let customers = (1...24).map { String(format: "C%06d", $0) }
        let partitioning = try Partitioning(count: Self.count)
        #expect(Set(customers.map { partitioning.partition(of: $0) < 4 }).count == 2, "both owners hold customers")
        for customer in customers {
            let request = Crm_Profiles_V1_UpsertCustomerRequest.with {
                $0.customer = .with {
                    $0.customerID = customer; $0.kind = .individual; $0.name = "Customer \(customer)"; $0.branchID = "B1"; $0.status = .normal
                    $0.openDate = .init(year: 2025, month: 3, day: 2)
                }
            }
            _ = try await first.unary(Crm_Profiles_V1_Profiles.upsertCustomer, request)
            _ = try await reference.unary(Crm_Profiles_V1_Profiles.upsertCustomer, request)
        }
        try await Self.ingest(customers, month: 3, into: [first, reference])
        // Each owner numbers its own log from 1: the same ids name different events.
        let firstEnds = try await Self.ends(of: first), secondEnds = try await Self.ends(of: second)
        #expect(firstEnds.events > 0 && secondEnds.events > 0)

        let settings = ["--setting", "feeds.poll_interval_ms=20", "--setting", "feeds.max_backoff_ms=200"]
        try await split.start(peers: ["profiles": owners[0].port], arguments: settings)
        try await whole.start(peers: ["profiles": single.port], arguments: settings)
        let splitClient = client(split), wholeClient = client(whole)
        let ownerFeeds = [(".profiles-0", first), (".profiles-1", second)]
        try await Self.waitApplied(splitClient, ownerFeeds)
        try await Self.waitApplied(wholeClient, [("", reference)])
        let details = try await splitClient.unary(Crm_Rpc_V1_Health.check, Crm_Rpc_V1_HealthCheckRequest()).details
        #expect(details["feed.profiles_events.position"] == nil, "one cursor per owner, none for the whole")

        for compensation in [splitClient, wholeClient] { try await Self.organise(compensation, customers: customers) }
        let march = try await Self.settled(splitClient, month: "2025-03")
        Self.expectSame(march, try await Self.settled(wholeClient, month: "2025-03"))
        #expect(march.joined().contains("pe:trade:C000001:T3-0-C000001"), "lines name events by identity")
        for owned in [customers.first { partitioning.partition(of: $0) < 4 }, customers.first { partitioning.partition(of: $0) >= 4 }] {
            #expect(march.joined().contains("customer_id: \"\(owned ?? "")\""), "income of both owners' customers: \(owned ?? "")")
        }

        // The split side's compensation restarted on its store while April arrives: it resumes
        // each owner's feed after what it applied.
        split.terminate()
        try await Self.ingest(customers, month: 4, into: [first, reference])
        try await split.start(peers: ["profiles": owners[0].port], arguments: settings)
        let restarted = client(split)
        try await Self.waitApplied(restarted, ownerFeeds)
        try await Self.waitApplied(wholeClient, [("", reference)])
        let april = try await Self.settled(restarted, month: "2025-04")
        Self.expectSame(april, try await Self.settled(wholeClient, month: "2025-04"))
        #expect(april[0].contains("adjustments") == false, "nothing of March came back as a late item")

        for client in [first, second, reference, splitClient, wholeClient, restarted] { await client.close() }
    }
}
