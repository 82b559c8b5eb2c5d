import CRMProtos
import CRMRPC
import CRMServiceHost
import Foundation
import GRDB
import SwiftProtobuf
@testable import CompensationService
import CRMTestSupport

/// The compensation service in process over a fresh SQLite file, with one token per role, and
/// helpers that record income exactly as the feed consumers do (the same conversion functions,
/// applied to hand-made feed entries).
struct CompensationHarness: StoppableService {
    static let tokens = TestPrincipals.entries
    let service: InProcessService<CompensationService>
    let path: String
    /// A client per token of ``tokens`` ("hr", "office", "m1", "m2", "b1", "svc").
    let clients: [String: RPCClient]

    static let settings = ["trade_costs": "transfer=1", "effective_account.min_month_end_assets_fen": "150000"]

    static func start(path: String? = nil, peers: [String: RPCClient] = [:], settings: [String: String] = CompensationHarness.settings) async throws -> CompensationHarness {
        let file = path ?? TestFiles.sqlitePath("compensation")
        let service = try await InProcessService<CompensationService>.start(databasePath: file, tokens: tokens, settings: settings, peers: peers)
        var clients: [String: RPCClient] = [:]
        for token in ["hr", "office", "m1", "m2", "b1", "svc"] { clients[token] = service.client(token: token) }
        return CompensationHarness(service: service, path: file, clients: clients)
    }

    func stop() async throws {
        for client in clients.values { await client.close() }
        try await service.stop()
    }

    @discardableResult
    func call<Request: SwiftProtobuf.Message, Response: SwiftProtobuf.Message>(
        _ method: UnaryMethod<Request, Response>, _ request: Request, token: String = "hr"
    ) async throws -> Response {
        guard let client = clients[token] else { throw RPCError(.unauthenticated, "no client for token \(token)") }
        return try await client.unary(method, request)
    }

    // MARK: Organisation

    /// Branches B1 and B2, teams T1 (B1) and T2 (B2); M1 and M2 in T1, M3 in T2, all grade G1.
    func organisation() async throws {
        try await call(Crm_Compensation_V1_Compensation.upsertBranches, Crm_Compensation_V1_UpsertBranchesRequest.with {
            $0.branches = [.with { $0.branchID = "B1"; $0.name = "Pudong" }, .with { $0.branchID = "B2"; $0.name = "Haidian" }]
        })
        try await call(Crm_Compensation_V1_Compensation.upsertTeams, Crm_Compensation_V1_UpsertTeamsRequest.with {
            $0.teams = [.with { $0.teamID = "T1"; $0.branchID = "B1"; $0.name = "Wealth 1" },
                        .with { $0.teamID = "T2"; $0.branchID = "B2"; $0.name = "Wealth 2" }]
        })
        try await call(Crm_Compensation_V1_Compensation.upsertManagers, Crm_Compensation_V1_UpsertManagersRequest.with {
            $0.managers = [Self.manager("M1", team: "T1", branch: "B1"), Self.manager("M2", team: "T1", branch: "B1"), Self.manager("M3", team: "T2", branch: "B2")]
        })
    }

    static func manager(_ id: String, team: String, branch: String, grade: String = "G1", status: Crm_Compensation_V1_ManagerStatus = .active) -> Crm_Compensation_V1_ClientManager {
        .with {
            $0.managerID = id
            $0.name = "Manager \(id)"
            $0.branchID = branch
            $0.teamID = team
            $0.grade = grade
            $0.status = status
        }
    }

    /// 0–100 000 fen at 20 %, 100 000–500 000 at 25 %, above at 30 %; interest 10 %, rebates 50 %,
    /// advisory 20 %; net commission also deducts "transfer".
    static func scheme(grade: String = "G1", from: Crm_Common_V1_Date = .init(year: 2025, month: 1, day: 1)) -> Crm_Compensation_V1_Scheme {
        .with {
            $0.grade = grade
            $0.effectiveFrom = from
            $0.commissionTiers = [
                .with { $0.lowerFen = 0; $0.upperFen = 100_000; $0.rateBp = 2_000 },
                .with { $0.lowerFen = 100_000; $0.upperFen = 500_000; $0.rateBp = 2_500 },
                .with { $0.lowerFen = 500_000; $0.rateBp = 3_000 },
            ]
            $0.rates = .with { $0.marginInterestBp = 1_000; $0.productRebateBp = 5_000; $0.advisoryFeeBp = 2_000 }
            $0.deductedCosts = ["transfer"]
        }
    }

    @discardableResult
    func putScheme(_ scheme: Crm_Compensation_V1_Scheme = CompensationHarness.scheme()) async throws -> Crm_Compensation_V1_PutSchemeResponse {
        try await call(Crm_Compensation_V1_Compensation.putScheme, Crm_Compensation_V1_PutSchemeRequest.with { $0.scheme = scheme })
    }

    /// Customers as profiles' change feed announces them.
    func customers(_ ids: [String], openedOn: Crm_Common_V1_Date = .init(year: 2020, month: 1, day: 15)) async throws {
        try await service.database.write { db in
            for id in ids {
                try FeedSources.apply(db, Crm_Profiles_V1_ChangeEvent.with {
                    $0.kind = .customerCreated
                    $0.customerID = id
                    $0.customer = .with { $0.customerID = id; $0.branchID = "B1"; $0.status = .normal; $0.openDate = openedOn }
                })
            }
        }
    }

    @discardableResult
    func assign(_ customer: String, to manager: String, from: Crm_Common_V1_Date, until: Crm_Common_V1_Date? = nil, transfer: Bool = false) async throws -> Crm_Compensation_V1_AssignCustomerResponse {
        try await call(Crm_Compensation_V1_Compensation.assignCustomer, Crm_Compensation_V1_AssignCustomerRequest.with {
            $0.assignment = .with {
                $0.customerID = customer
                $0.managerID = manager
                $0.effectiveFrom = from
                if let until { $0.effectiveUntil = until }
            }
            $0.transfer = transfer
        })
    }

    // MARK: Income, as the feeds bring it

    /// 10:30 Beijing time on the day.
    static func millis(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        BusinessCalendar.startMillis(of: Fixture.day(year, month, day)) + 10 * 3_600_000 + 30 * 60_000
    }

    static func trade(_ id: UInt64, customer: String, on date: (Int, Int, Int), margin: Bool = false, commission: Int64, fees: Int64, amount: Int64) -> Crm_Profiles_V1_LoggedEvent {
        .with {
            $0.eventID = id
            $0.type = .trade
            $0.trade = .with {
                $0.idempotencyKey = "T\(id)"
                $0.customerID = customer
                $0.account = margin ? .margin : .cash
                $0.side = .buy
                $0.instrument = "600519"
                $0.quantity = 100
                $0.price = "1.00"
                $0.amount = .with { $0.minorUnits = amount }
                $0.commission = .with { $0.minorUnits = commission }
                $0.fees = .with { $0.minorUnits = fees }
                $0.tradedAt = .with { $0.unixMillis = millis(date.0, date.1, date.2) }
            }
        }
    }

    static func interest(_ id: UInt64, customer: String, on date: (Int, Int, Int), fen: Int64) -> Crm_Profiles_V1_LoggedEvent {
        .with {
            $0.eventID = id
            $0.type = .marginInterest
            $0.marginInterest = .with {
                $0.idempotencyKey = "I\(id)"
                $0.customerID = customer
                $0.amount = .with { $0.minorUnits = fen }
                $0.chargedAt = .with { $0.unixMillis = millis(date.0, date.1, date.2) }
            }
        }
    }

    /// Applies profiles events as the events feed does.
    func record(_ events: [Crm_Profiles_V1_LoggedEvent]) async throws {
        let costs = service.service.settings.tradeCosts
        try await service.database.write { db in
            for event in events { try FeedSources.apply(db, event, costs: costs) }
        }
    }

    /// Applies products changes as the products feed does.
    func record(_ changes: [Crm_Products_V1_ChangeEvent]) async throws {
        try await service.database.write { db in
            for change in changes { try FeedSources.apply(db, change) }
        }
    }

    // MARK: Settlement

    @discardableResult
    func settle(_ month: String, token: String = "hr") async throws -> Crm_Compensation_V1_SettleMonthResponse {
        try await call(Crm_Compensation_V1_Compensation.settleMonth, Crm_Compensation_V1_SettleMonthRequest.with { $0.month = month }, token: token)
    }

    func statement(_ manager: String, _ month: String, token: String = "office", pageSize: UInt32 = 0, pageToken: String = "") async throws -> Crm_Compensation_V1_GetStatementResponse {
        try await call(Crm_Compensation_V1_Compensation.getStatement, Crm_Compensation_V1_GetStatementRequest.with {
            $0.managerID = manager
            $0.month = month
            $0.page = .with { $0.pageSize = pageSize; $0.pageToken = pageToken }
        }, token: token)
    }
}


extension Crm_Common_V1_Date {
    static func day(_ year: Int32, _ month: Int32, _ day: Int32) -> Crm_Common_V1_Date { .init(year: year, month: month, day: day) }
}
