import CRMProtos
import CRMReport
import CRMRPC
import CRMWorld
import CRMWorldLoader
import Foundation

/// The demo's compensation steps: load the organisation, assignments and schemes; wait until
/// compensation has recorded every income event the other services hold; settle the generated
/// months in order. Each step is safe to repeat, so an interrupted demo resumes with them.
struct CompensationSteps: Sendable {
    let world: World
    let clients: DemoClients
    let settings: DemoSettings
    // MARK: Loading

    /// Loads the organisation, every customer's assignments and the schemes unless the state
    /// records them as loaded and compensation still holds schemes (a new data folder empties it).
    func load(state: inout DemoState) async throws {
        if state.compensationLoaded == true {
            let schemes = try await clients.compensation.unary(Crm_Compensation_V1_Compensation.listSchemes, Crm_Compensation_V1_ListSchemesRequest()).schemes
            if !schemes.isEmpty { return }
            Console.note("compensation holds no schemes although \(settings.statePath) records them: loading its organisation again")
        }
        let organisation = world.organisation
        Console.note("loading compensation: \(organisation.branches.count) branches, \(organisation.teams.count) teams, "
                     + "\(Format.count(organisation.managers.count)) client managers, a scheme per grade, "
                     + "and \(Format.count(world.configuration.customers)) customers' assignments…")
        let loader = WorldLoader(world: world, clients: .init(profiles: clients.profiles, products: clients.products, compensation: clients.compensation))
        let live = Console.isTerminal
        let total = world.configuration.customers
        let report = try await loader.loadCompensation { done in
            if live { Console.status("compensation · assignments of \(Format.count(done))/\(Format.count(total)) customers") }
        }
        if live { Console.endStatus() }
        Console.note("compensation: \(Format.count(report.assignmentsCreated)) assignments recorded"
                     + (report.assignmentsUnchanged > 0 ? " (\(Format.count(report.assignmentsUnchanged)) were already)" : "")
                     + ", \(report.schemesCreated) new scheme versions")
        state.compensationLoaded = true
        try state.save(path: settings.statePath)
    }

    // MARK: Catching up

    /// Waits until compensation has applied everything profiles and products hold now: the
    /// position of each feed it follows (its health details: `feed.<name>.position`, and with
    /// several profiles owners `feed.<name>.<owner>.position`, one per owner's log and feed) has
    /// nothing of its kind after it. Income recorded after its month is settled would land in the
    /// next month as a late item, so the months are settled only once this holds.
    func waitUntilCaughtUp() async throws {
        Console.note("waiting until compensation has recorded every trade, interest charge, transfer, position and order…")
        let owners = clients.profilesOwners
        try await Console.waitUntil(failure: "compensation did not catch up within 30 minutes") {
            guard let details = try? await clients.compensationHealthDetails() else { return (["compensation: not answering"], false) }
            func position(_ feed: String) -> UInt64? { details["feed.\(feed).position"].flatMap { UInt64($0) } }
            // A follower that has not read profiles' partition map yet reports it instead of positions.
            let followsProfiles = details.keys.contains { $0.hasPrefix("feed.profiles_") || $0.hasPrefix("feed.profiles.") }
            let products = position("products_changes")
            guard followsProfiles, let products else {
                let missing = (followsProfiles ? [] : ["profiles events", "profiles changes"]) + (products == nil ? ["products changes"] : [])
                throw CRMCtlError("compensation does not follow \(missing.joined(separator: ", ")): start it with --peer profiles=HOST:PORT --peer products=HOST:PORT")
            }
            let events = owners.map { position($0.cursor("profiles_events")) }
            let customers = owners.map { position($0.cursor("profiles_customers")) }
            var caughtUp = try await clients.profilesEventLogsEnd(types: DemoClients.compensationEventTypes) { position($0.cursor("profiles_events")) }
            if caughtUp { caughtUp = try await clients.profilesFeedsEnd { position($0.cursor("profiles_customers")) } }
            if caughtUp { caughtUp = try await clients.productsFeedEnds(after: products) }
            func through(_ positions: [UInt64?]) -> String {
                positions.map { $0.map { "#\(Format.count($0))" } ?? "—" }.joined(separator: " + ")
            }
            var line = "compensation: profiles events through \(through(events)) · profiles changes through \(through(customers)) · "
                + "products changes through #\(Format.count(products))\(caughtUp ? " · caught up" : "")"
            let errors = details.filter { $0.key.hasSuffix(".last_error") }.sorted { $0.key < $1.key }.map { "\($0.key.dropFirst(5).dropLast(11)): \($0.value)" }
            if !errors.isEmpty { line += " · last error \(errors.joined(separator: "; "))" }
            return ([line], caughtUp)
        }
    }

    // MARK: Settling

    /// Settles the generated months in order — the warm-up months first (they hold trades, and the
    /// first month settled must be the first with income), the held-out month last — skipping
    /// those compensation has closed already. Before settling a month it sets that month's
    /// coefficients, as HR does after the monthly review.
    func settleMonths() async throws {
        let plan = CompensationPlan(world: world)
        let months = plan.settlementMonths
        var settled = 0
        for month in months {
            let name = month.description
            if try await clients.compensationMonthIsClosed(name) { continue }
            if settled == 0 {
                Console.note("settling \(name) … \(months.last?.description ?? name) in compensation (months close in order)…")
            }
            let coefficients = plan.coefficients(month: month)
            for start in stride(from: 0, to: coefficients.count, by: 5_000) {
                _ = try await clients.compensation.unary(Crm_Compensation_V1_Compensation.setCoefficients, Crm_Compensation_V1_SetCoefficientsRequest.with {
                    $0.coefficients = Array(coefficients[start..<min(coefficients.count, start + 5_000)])
                })
            }
            let answer = try await clients.compensation.unary(Crm_Compensation_V1_Compensation.settleMonth, Crm_Compensation_V1_SettleMonthRequest.with {
                $0.month = name
            })
            let unassigned = answer.unassigned.reduce(Int64(0)) { $0 + $1.incomeFen }
            Console.note("settled \(name): \(Format.count(answer.statements)) statements, \(Format.count(answer.lines)) income lines, "
                         + "pay \(Format.yuan(fen: answer.totalPayFen))" + (unassigned != 0 ? " · unassigned income \(Format.yuan(fen: unassigned))" : ""))
            settled += 1
        }
        if settled == 0 {
            Console.note("compensation has settled all \(months.count) months (\(months.first?.description ?? "")…\(months.last?.description ?? "")) already")
        }
    }
}
