import CRMProtos
import CRMRPC
import CRMServiceHost
@testable import CustomerDimensions
import Foundation
import GRDB
@testable import ProfilesService
import CRMTestSupport

/// The profiles service in process, over a fresh SQLite file, with one token per role.
struct ProfilesHarness: StoppableService {
    static let tokens = TestPrincipals.entries

    let service: InProcessService<ProfilesService>
    let path: String
    let ingest: RPCClient
    let office: RPCClient

    static func start(path: String? = nil, settings: [String: String] = [:], cores: Int? = nil) async throws -> ProfilesHarness {
        let file = path ?? TestFiles.sqlitePath("profiles")
        let service = try await InProcessService<ProfilesService>.start(databasePath: file, tokens: tokens, settings: settings, cores: cores)
        return ProfilesHarness(service: service, path: file, ingest: service.client(token: "ingest"), office: service.client(token: "office"))
    }

    func stop() async throws {
        await ingest.close()
        await office.close()
        try await service.stop()
    }
    @discardableResult
    func upsert(_ id: String, status: Crm_Profiles_V1_AccountStatus = .normal, manager: String = "M1", name: String? = nil) async throws -> Crm_Profiles_V1_UpsertCustomerResponse {
        try await ingest.unary(Crm_Profiles_V1_Profiles.upsertCustomer, Crm_Profiles_V1_UpsertCustomerRequest.with {
            $0.customer = .with {
                $0.customerID = id
                $0.kind = .individual
                $0.name = name ?? "Customer \(id)"
                $0.branchID = "B01"
                $0.managerID = manager
                $0.status = status
                if status != .prospect { $0.openDate = .init(year: 2020, month: 1, day: 15) }
            }
        })
    }

    static func trade(_ key: String, customer: String, amountFen: Int64 = 1_000_000, day: Int32 = 10) -> Crm_Profiles_V1_TradeEvent {
        .with {
            $0.idempotencyKey = key
            $0.customerID = customer
            $0.account = .cash
            $0.side = .buy
            $0.instrument = "600519"
            $0.instrumentType = .stock
            $0.sector = "consumer"
            $0.quantity = 100
            $0.price = "100.00"
            $0.amount = .with { $0.minorUnits = amountFen }
            $0.commission = .with { $0.minorUnits = amountFen / 4_000 }
            $0.fees = .with { $0.minorUnits = amountFen / 50_000 }
            // 2026-06-\(day) 10:30 Beijing time.
            $0.tradedAt = .with { $0.unixMillis = Int64(Days.day(year: 2026, month: 6, day: day)) * Days.millisPerDay + 2 * 3_600_000 + 30 * 60_000 }
        }
    }

    func ingestTrades(_ trades: [Crm_Profiles_V1_TradeEvent]) async throws -> Crm_Profiles_V1_IngestResponse {
        try await ingest.unary(Crm_Profiles_V1_Profiles.ingestTrades, Crm_Profiles_V1_IngestTradesRequest.with { $0.events = trades })
    }

    func changes(after: UInt64, client: RPCClient? = nil) async throws -> [Crm_Profiles_V1_ChangeEvent] {
        try await (client ?? office).serverStreaming(Crm_Profiles_V1_Profiles.streamChanges, Crm_Profiles_V1_StreamChangesRequest.with { $0.afterSequence = after }).collect()
    }

    func eventCount() async throws -> Int {
        try await service.database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? 0 }
    }
}
