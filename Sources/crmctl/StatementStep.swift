import CRMProtos
import CRMReport
import CRMRPC
import CRMWorld
import Foundation

/// Step 7 of the walkthrough: the held-out month's statement of the featured customer's client
/// manager, as compensation settled it (GetStatement), with the manager's customers
/// (GetAssessmentFigures), and a check that its figures add up.
struct StatementStep: Sendable {
    let world: World
    let clients: DemoClients
    func run(featuredCustomer customer: Crm_Profiles_V1_Customer) async throws {
        Walkthrough.heading(7, "客户经理月度结算单", "One manager's monthly statement (GetStatement)")
        let month = world.configuration.month(world.configuration.heldOutMonth).description
        guard try await clients.compensationMonthIsClosed(month) else {
            Walkthrough.line("\(month) is not settled in compensation yet")
            return
        }
        var managerID = customer.managerID
        var why = "the manager of customer \(customer.customerID) \(customer.name)"
        var hasStatement = false
        if !managerID.isEmpty { hasStatement = try await statement(managerID: managerID, month: month, pageToken: "") != nil }
        if !hasStatement {
            // The featured customer has no manager (or theirs has no statement): the month's best paid.
            let best = try await clients.compensationStatements(month: month).max { ($0.totalFen, $1.managerID) < ($1.totalFen, $0.managerID) }
            guard let best else {
                Walkthrough.line("compensation holds no statement for \(month)")
                return
            }
            managerID = best.managerID
            why = "customer \(customer.customerID) has \(customer.managerID.isEmpty ? "no client manager" : "a manager without a statement"), so the best paid of the month"
        }
        guard let figures = try await figures(managerID: managerID, month: month) else {
            Walkthrough.line("compensation holds no statement for \(managerID) in \(month)")
            return
        }
        Walkthrough.line("\(why); \(month) settled by SettleMonth (SetCoefficients from the month's review first)")
        print("")
        print(StatementText.render(figures))
        print("")
        let problems = figures.discrepancies
        if problems.isEmpty {
            Walkthrough.line("✓ adds up: bands + lines = gross; gross + coefficient lines = total \(Format.yuan(fen: figures.totalFen)) (every amount exact to the fen)")
        } else {
            Walkthrough.line("✗ does not add up: " + problems.joined(separator: "; "))
        }
    }

    /// One page of the statement, or nil when the month is not settled for the manager.
    func statement(managerID: String, month: String, pageToken: String) async throws -> Crm_Compensation_V1_GetStatementResponse? {
        do {
            return try await clients.compensation.unary(Crm_Compensation_V1_Compensation.getStatement, Crm_Compensation_V1_GetStatementRequest.with {
                $0.managerID = managerID
                $0.month = month
                $0.page = .with { $0.pageSize = 5_000; $0.pageToken = pageToken }
            })
        } catch let error as RPCError where error.code == .notFound {
            return nil
        }
    }

    /// The statement as plain figures: its header, every page of its lines (for the customers
    /// with income), the manager's name and their customers at month end.
    func figures(managerID: String, month: String) async throws -> StatementFigures? {
        guard let first = try await statement(managerID: managerID, month: month, pageToken: "") else { return nil }
        var customersWithIncome = Set(first.statement.lines.map(\.customerID))
        var token = first.page.nextPageToken
        while !token.isEmpty, let page = try await statement(managerID: managerID, month: month, pageToken: token) {
            customersWithIncome.formUnion(page.statement.lines.map(\.customerID))
            token = page.page.nextPageToken
        }
        let manager = try? await clients.compensation.unary(Crm_Compensation_V1_Compensation.getManager, Crm_Compensation_V1_GetManagerRequest.with {
            $0.managerID = managerID
        }).manager
        let assessment = try? await clients.compensation.unary(Crm_Compensation_V1_Compensation.getAssessmentFigures, Crm_Compensation_V1_GetAssessmentFiguresRequest.with {
            $0.month = month
            $0.managerID = managerID
            $0.top = 1
        })
        let version = first.statement.ruleVersion
        let scheme = try? await clients.compensation.unary(Crm_Compensation_V1_Compensation.listSchemes, Crm_Compensation_V1_ListSchemesRequest.with {
            $0.grade = version.grade
        }).schemes.first { $0.version == version.version }
        return Self.figures(first.statement, rates: scheme?.rates, managerName: manager?.name ?? "", branchName: branchName(first.statement.branchID),
                            customersAtMonthEnd: assessment?.managers.first { $0.managerID == managerID }.map { Int($0.figures.customersAtMonthEnd) },
                            customersWithIncome: customersWithIncome.count)
    }

    func branchName(_ id: String) -> String {
        world.organisation.branches.first { $0.id == id }.map { "\(id) \($0.name)" } ?? id
    }

    /// Maps a statement message to the report's plain figures (nothing is recomputed).
    static func figures(_ s: Crm_Compensation_V1_Statement, rates: Crm_Compensation_V1_SourceRates?, managerName: String, branchName: String, customersAtMonthEnd: Int?,
                        customersWithIncome: Int) -> StatementFigures {
        StatementFigures(
            managerID: s.managerID, name: managerName, grade: s.grade, branch: branchName, team: s.teamID, month: s.month,
            ruleVersion: "\(s.ruleVersion.grade) v\(s.ruleVersion.version)", lineCount: Int(s.lineCount), adjustmentCount: Int(s.adjustmentCount),
            customersAtMonthEnd: customersAtMonthEnd, customersWithIncome: customersWithIncome,
            sources: s.sourceTotals.map { total in
                let commission = total.source == .cashCommission || total.source == .marginCommission
                return .init(name: sourceName(total.source), items: Int(total.itemCount), incomeFen: total.incomeFen,
                             rateBp: commission ? nil : rates.flatMap { rate(of: total.source, in: $0) }, payFen: commission ? nil : total.payFen)
            },
            netCommissionFen: s.netCommissionFen,
            bands: s.commissionBands.map {
                .init(lowerFen: $0.lowerFen, upperFen: $0.upperFen == 0 ? nil : $0.upperFen, rateBp: Int($0.rateBp), portionFen: $0.portionFen, payFen: $0.payFen)
            },
            commissionPayFen: s.commissionPayFen, subtotalFen: s.subtotalFen,
            coefficients: s.coefficientLines.map {
                .init(kind: $0.kind == .compliance ? "compliance" : "assessment", coefficient: $0.coefficient, baseFen: $0.baseFen, amountFen: $0.amountFen)
            },
            totalFen: s.totalFen
        )
    }

    static func sourceName(_ source: Crm_Compensation_V1_IncomeSource) -> String {
        switch source {
        case .cashCommission: "cash commission (net)"
        case .marginCommission: "margin commission (net)"
        case .marginInterest: "margin interest"
        case .productRebate: "product sales rebate"
        case .advisoryFee: "advisory fees"
        default: "other"
        }
    }

    /// A non-commission source's rate in the scheme version that settled the statement.
    static func rate(of source: Crm_Compensation_V1_IncomeSource, in rates: Crm_Compensation_V1_SourceRates) -> Int? {
        switch source {
        case .marginInterest: Int(rates.marginInterestBp)
        case .productRebate: Int(rates.productRebateBp)
        case .advisoryFee: Int(rates.advisoryFeeBp)
        default: nil
        }
    }
}
