import CompensationSettlement
import CRMProfilesClient
import CRMServiceHost
import CRMProtos
import CRMRPC
import GRDB

/// The three feeds compensation follows, each turning a peer's entries into rows of its own store in
/// the transaction that advances the feed's cursor (see ``IncomeStore``).
enum FeedSources {
    static let profilesEvents = "profiles_events"
    static let profilesCustomers = "profiles_customers"
    static let productsChanges = "products_changes"

    /// How long one feed call may take.
    static let callTimeout = CallOptions.timeout(.seconds(20))

    /// A read's call options: ``callTimeout``, or with a wait for an entry, the wait and 30 s more.
    static func options(waiting wait: Duration?) -> CallOptions {
        wait == nil ? callTimeout : FeedWaits.options(wait)
    }

    /// Applies `entries` after `after` and moves the cursor to `position`, unless another step got
    /// there first (then nothing is applied: the entries were or will be applied by that step).
    static func commit(_ database: DatabasePool, feed: String, after: UInt64, position: UInt64,
                       apply: @escaping @Sendable (Database) throws -> Void) async throws {
        try await database.write { db in
            guard try IncomeStore.cursor(db, feed: feed) == after else { return }
            try apply(db)
            try IncomeStore.setCursor(db, feed: feed, position: position)
        }
    }

    /// One step of a feed: reads a page after the stored cursor with `read(after, batch, wait)`
    /// (`wait`: how long the peer may hold the read for an entry), applies it with the cursor's
    /// move in one transaction, and says how far it got.
    static func step<Entry: Sendable>(
        database: DatabasePool, feed: String, position: @escaping @Sendable (Entry) -> UInt64,
        read: @escaping @Sendable (UInt64, Int, Duration?) async throws -> [Entry],
        apply: @escaping @Sendable (Database, Entry) throws -> Void
    ) -> FeedFollower.Read {
        { batch, wait in
            let after = try await database.read { db in try IncomeStore.cursor(db, feed: feed) }
            let entries = try await read(after, batch, wait)
            guard let last = entries.last.map(position) else { return FeedFollower.Step(received: 0, position: after) }
            try await commit(database, feed: feed, after: after, position: last) { db in
                for entry in entries { try apply(db, entry) }
            }
            return FeedFollower.Step(received: entries.count, position: last)
        }
    }

    // MARK: profiles StreamEvents

    static let eventTypes: [Crm_Profiles_V1_EventType] = [.trade, .fundTransfer, .dailyPosition, .marginInterest]

    /// Follows one profiles process's event log under the cursor `feed` (one per owner process, or
    /// per partition of an owner keeping a file per partition, read from the partition's owner
    /// now: ``ProfilesFollowers``). The step's wait, when set, lets profiles hold the read that
    /// long for an event (`wait_ms`).
    static func profilesEventsStep(owner: ProfilesOwner, database: DatabasePool, costs: TradeCostSchedule, feed: String = profilesEvents)
        -> FeedFollower.Read {
        let legacy = LegacyEventKeys(database: database)
        let partition = owner.selector
        let read: @Sendable (UInt64, Int, [Crm_Profiles_V1_EventType], Duration?) async throws -> [Crm_Profiles_V1_LoggedEvent] = { after, batch, types, wait in
            try await owner.reading { client in try await client.serverStreaming(
                Crm_Profiles_V1_Profiles.streamEvents,
                Crm_Profiles_V1_StreamEventsRequest.with {
                    $0.afterEventID = after
                    $0.limit = UInt32(batch)
                    $0.types = types
                    if let partition { $0.partition = partition }
                    if let wait { $0.waitMs = FeedWaits.milliseconds(wait) }
                }, options: options(waiting: wait)
            ).collect() }
        }
        let page = step(database: database, feed: feed, position: { $0.eventID }, read: { after, batch, wait in
            try await read(after, batch, eventTypes, wait)
        }, apply: { db, event in try apply(db, event, costs: costs) })
        return { batch, wait in
            // Nothing new is applied before every event recorded under its old id is known by
            // identity: one of them delivered again would not be recognised.
            try await legacy.learn(batch: batch) { after, limit in try await read(after, limit, LegacyEventKeys.eventTypes, nil) }
            return try await page(batch, wait)
        }
    }

    /// Records one profiles event: trades and margin interest as income, transfers as flows, end-of-day
    /// positions as total assets. Other types are ignored. Trades, interest and transfers are keyed
    /// by their identity (``ProfilesEventIdentity``), not by the event id (each profiles process
    /// numbers its own log), and skipped when recorded already, under that identity or under their
    /// old event id (``LegacyEventKeys``); positions replace the customer's figure for the day.
    static func apply(_ db: Database, _ event: Crm_Profiles_V1_LoggedEvent, costs: TradeCostSchedule) throws {
        if let key = ProfilesEventIdentity.key(of: event, among: ProfilesEventIdentity.Kind.compensated), try IncomeStore.isLegacyRecorded(db, key: key) { return }
        switch event.body {
        case .trade(let trade):
            let commission = TradeCommission(
                account: trade.account == .margin ? .margin : .cash, commissionFen: trade.commission.minorUnits,
                exchangeFeesFen: trade.fees.minorUnits, regulatoryFeesFen: 0, otherCosts: costs.costs(ofTradeAmount: trade.amount.minorUnits)
            )
            try IncomeStore.record(db, IncomeItem(
                sourceEventID: ProfilesEventIdentity.key(.trade, customerID: trade.customerID, idempotencyKey: trade.idempotencyKey),
                customerID: trade.customerID, day: BusinessCalendar.day(ofUnixMillis: trade.tradedAt.unixMillis),
                occurredAtMillis: trade.tradedAt.unixMillis, kind: .trade(commission), isAdjustment: trade.commission.minorUnits < 0
            ))
        case .marginInterest(let interest):
            try IncomeStore.record(db, IncomeItem(
                sourceEventID: ProfilesEventIdentity.key(.marginInterest, customerID: interest.customerID, idempotencyKey: interest.idempotencyKey),
                customerID: interest.customerID, day: BusinessCalendar.day(ofUnixMillis: interest.chargedAt.unixMillis),
                occurredAtMillis: interest.chargedAt.unixMillis, kind: .marginInterest(interestFen: interest.amount.minorUnits),
                isAdjustment: interest.amount.minorUnits < 0
            ))
        case .fundTransfer(let transfer):
            let amount = transfer.direction == .withdrawal ? -transfer.amount.minorUnits : transfer.amount.minorUnits
            try IncomeStore.recordFlow(db, key: ProfilesEventIdentity.key(.fundTransfer, customerID: transfer.customerID, idempotencyKey: transfer.idempotencyKey),
                                       AssetFlow(customerID: transfer.customerID, day: BusinessCalendar.day(ofUnixMillis: transfer.transferredAt.unixMillis),
                                                 amountFen: amount))
        case .dailyPosition(let position):
            guard let day = CalendarDay(position.tradingDay) else { return }
            var total = position.cash.minorUnits
            for holding in position.holdings { total = Fen.sum(total, holding.marketValue.minorUnits) }
            for product in position.products { total = Fen.sum(total, product.marketValue.minorUnits) }
            try IncomeStore.recordAssets(db, CustomerAssets(customerID: position.customerID, day: day, totalAssetsFen: total))
        default:
            break
        }
    }

    // MARK: profiles StreamChanges (customers)

    /// Follows one profiles process's change feed under the cursor `feed` (one per owner process,
    /// or per partition of an owner keeping a file per partition, read from its owner now).
    static func profilesCustomersStep(owner: ProfilesOwner, database: DatabasePool, feed: String = profilesCustomers) -> FeedFollower.Read {
        let partition = owner.selector
        return step(database: database, feed: feed, position: { $0.sequence }, read: { after, batch, wait in
            try await owner.reading { client in try await client.serverStreaming(
                Crm_Profiles_V1_Profiles.streamChanges,
                Crm_Profiles_V1_StreamChangesRequest.with {
                    $0.afterSequence = after
                    $0.limit = UInt32(batch)
                    if let partition { $0.partition = partition }
                    if let wait { $0.waitMs = FeedWaits.milliseconds(wait) }
                }, options: options(waiting: wait)
            ).collect() }
        }, apply: { db, change in try apply(db, change) })
    }

    /// Remembers a customer (and its open date) from a created, updated or status change.
    static func apply(_ db: Database, _ change: Crm_Profiles_V1_ChangeEvent) throws {
        switch change.kind {
        case .customerCreated, .customerUpdated, .statusChanged:
            guard change.hasCustomer else { return }
            let customer = change.customer
            try IncomeStore.recordCustomer(db, id: customer.customerID, branchID: customer.branchID, status: customer.status.rawValue,
                                           openDay: customer.hasOpenDate ? CalendarDay(customer.openDate) : nil)
        default:
            break
        }
    }

    // MARK: products StreamChanges

    /// Products' changes, the read held up to the follower's wait once caught up (as profiles').
    static func productsStep(client: RPCClient, database: DatabasePool) -> FeedFollower.Read {
        step(database: database, feed: productsChanges, position: { $0.sequence }, read: { after, batch, wait in
            try await client.serverStreaming(
                Crm_Products_V1_Products.streamChanges,
                Crm_Products_V1_StreamChangesRequest.with {
                    $0.afterSequence = after
                    $0.limit = UInt32(batch)
                    if let wait { $0.waitMs = FeedWaits.milliseconds(wait) }
                }, options: options(waiting: wait)
            ).collect()
        }, apply: { db, change in try apply(db, change) })
    }

    /// Records a product version's rebate rate, a subscription order as a product sale (at the rate of
    /// the version it was accepted under, credited to its manager), or a package subscription.
    /// Redemptions are not sales and are ignored.
    static func apply(_ db: Database, _ change: Crm_Products_V1_ChangeEvent) throws {
        switch change.body {
        case .product(let product):
            let at = product.hasUpdatedAt ? product.updatedAt.unixMillis : change.at.unixMillis
            try IncomeStore.recordProductVersion(db, code: product.productCode, version: product.version,
                                                 rebate: BasisPoints(Int(product.salesRebateBp)), effectiveAtMillis: at)
        case .order(let order):
            guard order.side == .subscription else { return }
            let at = order.hasAcceptedAt ? order.acceptedAt.unixMillis : change.at.unixMillis
            let rebate = try IncomeStore.rebate(db, code: order.productCode, version: order.productVersion, atMillis: at) ?? BasisPoints(0)
            try IncomeStore.record(db, IncomeItem(
                sourceEventID: "order:\(order.orderID)", customerID: order.customerID, day: BusinessCalendar.day(ofUnixMillis: at),
                occurredAtMillis: at, kind: .productSale(ProductSale(productCode: order.productCode, amountFen: order.amount.minorUnits, rebateRate: rebate)),
                creditedManagerID: order.managerID.isEmpty ? nil : order.managerID
            ))
        case .subscription(let subscription):
            guard let start = CalendarDay(subscription.startDate) else { return }
            let fee: AdvisorySubscription.Fee
            switch subscription.feeSchedule.fee {
            case .monthlyFee(let money): fee = .monthly(fen: money.minorUnits)
            case .assetPercentageBp(let bp): fee = .assetPercentage(BasisPoints(Int(bp)))
            case nil: return
            }
            try IncomeStore.recordSubscription(db, AdvisorySubscription(customerID: subscription.customerID, packageCode: subscription.packageCode,
                                                                        fee: fee, startDay: start))
        default:
            break
        }
    }
}
