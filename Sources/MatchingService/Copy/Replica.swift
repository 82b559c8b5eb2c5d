import CRMHeap
import CRMPartitions
import CRMProtos
import CRMRPC
import CRMServiceHost
import CRMStore
import CRMSuitability
import Foundation
import GRDB
import Synchronization

/// One replica's state: the store holding its copy and models, and the in-memory index built from
/// it. Feed followers write through here (store first, then memory); handlers read the memory.
final class Replica: Sendable {
    let database: DatabasePool
    let memory: Mutex<ReplicaMemory>
    let feeds = Mutex(FeedStatus())
    /// Not ready until the store is loaded into memory and the copy has, once in this replica's
    /// life, read its feeds (products', and each followed profiles process's change feed and event log) to their end: until then an unknown customer may only be one not
    /// copied yet, so the server answers UNAVAILABLE (retryable) instead of NOT_FOUND. A restarted
    /// replica whose copy caught up before is ready as soon as it is loaded, even if profiles or
    /// products is down (it answers from its copy and reports the staleness).
    let readiness = ServiceReadiness(notReadyBecause: "loading its copy from the store")

    /// How current each feed is, for health details and GetReplicaStatus.
    struct FeedStatus: Sendable {
        /// One feed's progress.
        struct Feed: Sendable {
            /// The last change (or event) applied.
            var sequence: UInt64 = 0
            /// When it was last read to its end (unix millis); nil until it first was.
            var currentAt: Int64?
            var error: String?
        }

        /// Every feed by its cursor name: `products`, and for profiles `profiles` (its change feed)
        /// and `events` (its event log: views and contacts) — or, following a partition map of
        /// several owners, `profiles.<owner>` and `events.<owner>` for each (``CopyStore/feed(_:owner:)``).
        var feeds: [String: Feed] = [:]
        /// The profiles processes followed (`[""]` for one); nil until the partition map is read.
        var owners: [String]?
        /// Subscriptions in the copy, counted as they are applied (status is polled often).
        var purchases = 0
        /// Views and contacts from profiles' event log applied to the copy by this process (an
        /// event read again is not counted: it is not applied again).
        var behaviourApplied = 0
        /// Customers this process read from profiles' snapshot when its copy started empty.
        var snapshotCustomers = 0
        /// Customers of other matching groups dropped from the store at start.
        var droppedCustomers = 0
        /// Partitions this replica's group holds that its store had not copied, read from the
        /// start since this start (``ReplicaLayout``).
        var gainedPartitions: [Int] = []
        /// The model version whose background scoring pass has ended, and the business day it
        /// scored for (scores move with the day: behaviour windows slide).
        var warmedModel: String?
        var warmedDay: Int32 = .min
        var warmedGeneration = -1
    }

    /// The matching group this replica belongs to (nil: it copies every customer, as a replica
    /// of one group always does). A group's replica keeps only its partitions' customers, views
    /// and contacts; orders and products it keeps whole (a product's sales are every buyer's).
    let groups: ReplicaGroups?

    /// The cores the process counts on (``HostConfiguration/cores``): training's and evaluation's
    /// row workers (up to four) and a large list's ranking (up to two).
    let cores: Int

    /// Threads building or scoring a block of a month's rows (training and evaluation): every core
    /// the process counts on, up to four.
    var rowWorkers: Int { min(4, cores) }

    init(database: DatabasePool, rules: SuitabilityRules, groups: ReplicaGroups? = nil, cores: Int = HostConfiguration.coresAvailable) {
        self.database = database
        self.cores = max(1, cores)
        self.memory = Mutex(ReplicaMemory(rules: rules, cores: self.cores))
        self.groups = groups
    }

    /// Whether the copy keeps this customer (every customer outside matching groups).
    func holds(customerID: String) -> Bool {
        groups?.holds(customerID: customerID) ?? true
    }

    /// Rebuilds the index from the store (at start-up, before the followers run). A group's
    /// replica first drops the customers of other groups its store holds (a store made before the
    /// groups, or for a group holding more): they are copies, and answering them here would count
    /// them twice in a list merged across groups; a store lacking some of the group's customers is
    /// refused (``ReplicaLayout``).
    func load() async throws {
        let groups = self.groups
        let change = try await database.write { db in try ReplicaLayout.adopt(db, groups: groups) }
        feeds.withLock {
            $0.droppedCustomers = change.dropped
            $0.gainedPartitions = change.gained
        }
        let now = currentUnixMillis()
        let (loaded, cursors, scorer, purchases, caughtUpBefore) = try await database.read { db
            -> (ReplicaMemory, [String: UInt64], Scorer?, Int, Bool) in
            var fresh = self.memory.withLock { ReplicaMemory(rules: $0.rules, cores: $0.cores) }
            try CopyStore.load(db, into: &fresh)
            fresh.customers.compact()
            // The behaviour that can still count from now on, and every product's sales.
            let catalogue = fresh.catalog
            let grouped = try BehaviourStore.byCustomer(db, reaching: now) { catalogue[$0]?.family }
            // A group's replica keeps the views and contacts of customers it dropped, and every
            // customer's orders: only its own customers' behaviour gets a row (each behaviour
            // event makes one), so other groups' customers are neither counted nor held here.
            for id in grouped.keys.sorted() where self.holds(customerID: id) {
                for event in grouped[id] ?? [] { fresh.applyBehaviour(event, customerID: id) }
            }
            fresh.behaviour.compact()
            fresh.behaviour.setSales(try BehaviourStore.salesByProduct(db))
            return (fresh, try CopyStore.cursors(db), try ModelStore.currentScorer(db), try CopyStore.purchaseCount(db), try CopyStore.caughtUpAt(db) != nil)
        }
        memory.withLock {
            $0 = loaded
            $0.install(scorer)
        }
        feeds.withLock {
            $0.purchases = purchases
            for (feed, sequence) in cursors { $0.feeds[feed, default: .init()].sequence = sequence }
        }
        _ = crm_heap_trim()
        if caughtUpBefore {
            readiness.markReady()
        } else if !change.gained.isEmpty {
            readiness.notReady(because: "copying the customers of partitions \(PartitionSet(change.gained)) from profiles: this replica's matching group holds them now")
        } else {
            readiness.notReady(because: "reading profiles and products for the first time")
        }
    }

    /// The last position applied of `feed` (a cursor name, ``CopyStore/feed(_:owner:)``).
    func cursor(_ feed: String) -> UInt64 {
        feeds.withLock { $0.feeds[feed]?.sequence ?? 0 }
    }

    /// Notes which profiles processes the copy follows (from the partition map; `[""]` for one):
    /// the replica becomes ready only once each one's feeds have been read to their end.
    func follow(owners: [String]) {
        feeds.withLock { $0.owners = owners }
    }

    /// Applies a page of profiles' event log read through `feed`: its product views and service
    /// contacts become behaviour events (other kinds are skipped), each stored under its identity
    /// (``ProfilesEventIdentity``) and applied to the memory only when new to the copy, so an event read
    /// twice counts once. `adoptingLegacy`: rows stored under event ids may be this page's events
    /// (``BehaviourStore/adoptLegacy(_:key:customerID:productCode:event:)``).
    ///
    /// The memory takes only the events that can still count (``BehaviourStore/canCount(_:from:)``),
    /// as a restart loads it: a new replica reads a year of the log, and keeping every view of it
    /// held a million customers' copy at 2.4 GiB once caught up against 1.6 GiB after a restart.
    /// The store keeps them all (training reads past months from it).
    func applyEvents(_ events: [Crm_Profiles_V1_LoggedEvent], feed: String, adoptingLegacy: Bool = false) async throws {
        guard let last = events.last else { return }
        let catalogue = memory.withLock { memory in memory.catalog.mapValues(\.family) }
        let found = events.compactMap { logged -> (String, (customerID: String, productCode: String, event: BehaviourEvent))? in
            guard let key = ProfilesEventIdentity.key(of: logged, among: ProfilesEventIdentity.Kind.behaviour),
                  let item = BehaviourStore.event(of: logged, family: { catalogue[$0] ?? nil }),
                  holds(customerID: item.customerID) else { return nil }
            return (key, item)
        }
        let new = try await database.write { db in
            let new = try found.filter { key, item in
                try BehaviourStore.record(db, key: key, customerID: item.customerID, productCode: item.productCode, event: item.event,
                                          adoptingLegacy: adoptingLegacy)
            }
            try CopyStore.setCursor(db, feed, last.eventID)
            return new
        }
        let starts = BehaviourStore.retentionStarts(reaching: currentUnixMillis())
        memory.withLock { memory in
            for (_, item) in new where BehaviourStore.canCount(item.event, from: starts) {
                memory.applyBehaviour(item.event, customerID: item.customerID, productCode: item.productCode)
            }
        }
        feeds.withLock {
            $0.feeds[feed, default: .init()].sequence = last.eventID
            $0.behaviourApplied += new.count
        }
    }

    /// Applies a page of a profiles change feed; a group's replica skips other groups' customers
    /// (a process's whole feed holds every partition it owns), and its cursor still moves past them.
    func applyProfiles(_ page: [Crm_Profiles_V1_ChangeEvent], feed: String) async throws {
        guard let last = page.last else { return }
        let changes = groups == nil ? page : page.filter { holds(customerID: $0.customerID) }
        let positions = memory.withLock { $0.positions }
        try await database.write { db in try CopyStore.applyProfiles(db, changes, positions: positions, feed: feed, through: last.sequence) }
        memory.withLock { memory in
            for change in changes {
                switch change.kind {
                case .customerCreated, .customerUpdated, .statusChanged: memory.applyCustomer(change.customer)
                case .reassessed: memory.applyAssessment(customerID: change.customerID, change.assessment)
                case .dimensionsChanged:
                    var dimensions = change.dimensions
                    dimensions.customerID = change.customerID
                    memory.applyDimensions(dimensions)
                default: continue
                }
            }
        }
        feeds.withLock { $0.feeds[feed, default: .init()].sequence = last.sequence }
    }

    /// Applies one page of profiles' snapshot (each entry replaces the customer whole). The feed
    /// cursor does not move: ``finishSnapshot(followingFrom:)`` sets it once every page is in.
    func applySnapshot(_ page: [Crm_Profiles_V1_SnapshotEntry]) async throws {
        let entries = groups == nil ? page : page.filter { holds(customerID: $0.customer.customerID) }
        guard !entries.isEmpty else { return }
        // The store and the memory are written at the same time (on two cores): the cursor moves
        // only at the end of the snapshot, so whichever finishes first, a restart reads the
        // snapshot again.
        let database = self.database
        async let stored: Void = database.write { db in try CopyStore.applySnapshot(db, entries) }
        memory.withLock { memory in
            for entry in entries { memory.applySnapshot(entry) }
        }
        try await stored
    }

    /// Ends a snapshot of one profiles process: its change feed (`feed`) is followed after
    /// `sequence` (the smallest sequence of the pages applied; later changes may already be in the
    /// copy, and applying them again in order ends in the same state).
    func finishSnapshot(feed: String, followingFrom sequence: UInt64, customers: Int) async throws {
        try await database.write { db in try CopyStore.setCursor(db, feed, sequence) }
        memory.withLock { $0.customers.compact() }
        // The snapshot's decoded pages are freed by now; hand the heap they left back to the
        // system so the replica's resident memory is its index, not the load's high-water mark.
        _ = crm_heap_trim()
        feeds.withLock {
            $0.feeds[feed, default: .init()].sequence = sequence
            $0.snapshotCustomers += customers
        }
    }

    /// Whether a page of changes names a dimension or scheme past the replica's copy of profiles'
    /// dictionary (profiles added one): the dictionary must be read again first.
    func dictionaryIsOutdated(for changes: [Crm_Profiles_V1_ChangeEvent]) -> Bool {
        memory.withLock { memory in
            changes.contains { $0.kind == .dimensionsChanged && memory.positions.isOutdated(for: $0.dimensions) }
        }
    }

    func applyProducts(_ changes: [Crm_Products_V1_ChangeEvent]) async throws {
        guard let last = changes.last else { return }
        // Orders are behaviour too; their family is the product's, from this page or the copy.
        var families = memory.withLock { memory in memory.catalog.mapValues(\.family) }
        for change in changes {
            if case .product(let product)? = change.body { families[product.productCode] = ProductFamilies.family(of: product.type) }
        }
        let family = families
        let newPurchases = try await database.write { db in try CopyStore.applyProducts(db, changes) { family[$0] ?? nil } }
        memory.withLock { memory in
            for change in changes {
                switch change.body {
                case .product(let product)?:
                    memory.applyProduct(product)
                case .order(let order)?:
                    guard let event = BehaviourStore.event(of: order, family: family[order.productCode] ?? nil) else { continue }
                    // Every order counts in its product's sales; only the group's own customers' orders in their behaviour.
                    if holds(customerID: order.customerID) { memory.applyBehaviour(event, customerID: order.customerID) }
                    if event.kind == .subscription { memory.applySale(product: order.productCode, at: event.at) }
                default:
                    continue
                }
            }
        }
        feeds.withLock {
            $0.feeds[CopyStore.Source.products.rawValue, default: .init()].sequence = last.sequence
            $0.purchases += newPurchases
        }
    }

    func setDictionary(_ dimensions: Crm_Profiles_V1_ListDimensionsResponse, _ schemes: Crm_Profiles_V1_ListClassificationSchemesResponse) async throws {
        try await database.write { db in try CopyStore.saveDictionary(db, dimensions: dimensions, schemes: schemes) }
        memory.withLock { $0.setDictionary(dimensions: dimensions.dimensions, schemes: schemes.schemes) }
    }

    /// Notes that `feed` was read to its end. The first time every feed has been — products', and
    /// each followed profiles process's change feed and event log — (in this replica's life:
    /// recorded in the store), the replica becomes ready.
    func markCurrent(_ feed: String, at millis: Int64 = currentUnixMillis()) async throws {
        let allCurrent = feeds.withLock { status in
            status.feeds[feed, default: .init()].currentAt = millis
            status.feeds[feed, default: .init()].error = nil
            guard let owners = status.owners else { return false }
            let names = [CopyStore.Source.products.rawValue] + owners.flatMap { [CopyStore.feed(.profiles, owner: $0), CopyStore.feed(.events, owner: $0)] }
            return names.allSatisfy { status.feeds[$0]?.currentAt != nil }
        }
        guard allCurrent, !readiness.isReady else { return }
        try await database.write { db in try CopyStore.markCaughtUp(db, at: millis) }
        memory.withLock { $0.behaviour.compact() }
        await returnMemory()
        readiness.markReady()
    }

    /// Hands back what a catch-up or a training used and no longer holds: SQLite's page caches
    /// (reader connections closed, the writer's cache emptied; they fill again as needed) and the
    /// heap's free pages (`malloc_trim`), so the resident memory is what the replica holds rather
    /// than the high-water mark of its last load. (At 100,000 customers a replica that has just
    /// caught up from 128 partition feeds: 309 MiB, against 610–897 MiB while `crm_heap_trim` did
    /// nothing; BENCHMARKS.md.) Runs off the cooperative pool (releasing waits for the store's
    /// connections).
    func returnMemory() async {
        let database = self.database
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global(qos: .utility).async {
                database.releaseMemory()
                _ = crm_heap_trim()
                done.resume()
            }
        }
    }

    func markFailed(_ feed: String, _ error: String) {
        feeds.withLock { $0.feeds[feed, default: .init()].error = error }
    }

    /// Installs a model as current in memory (the caller stored it) and scores every customer
    /// with it in the background, so the first target lists find the scores cached.
    func install(_ scorer: Scorer?) {
        memory.withLock { $0.install(scorer) }
        Task { await self.warmScores() }
    }

    /// Computes every family score of the current model, a slice at a time so queries interleave:
    /// 500 customers × every family is a few milliseconds under the lock (5,000 held a decision
    /// waiting for about 100 ms at a million customers).
    func warmScores() async {
        let slice = 500
        var start = 0
        let (version, generation) = memory.withLock { memory in
            memory.refreshScoresDay(BusinessDays.today())
            return (memory.scorer?.version, memory.scoresGeneration)
        }
        while true {
            let (done, current): (Bool, String?) = memory.withLock { memory in
                let end = min(memory.customers.count, start + slice)
                memory.warmScores(rows: start..<end, now: currentUnixMillis())
                return (end >= memory.customers.count, memory.scorer?.version)
            }
            // A newer model started its own pass; this one stops.
            if current != version || Task.isCancelled { return }
            if done {
                // Complete only if no bulk drop (a new day, a product) happened meanwhile.
                let (day, now) = memory.withLock { ($0.scoresDay, $0.scoresGeneration) }
                guard now == generation else { return }
                feeds.withLock {
                    $0.warmedModel = version
                    $0.warmedDay = day
                    $0.warmedGeneration = generation
                }
                return
            }
            start += slice
            await Task.yield()
        }
    }

    /// Scores every customer again when their scores were dropped in bulk — a new business day
    /// (behaviour windows slide), a product that changed what customers may buy — checked every
    /// ten seconds, so the first lists after it find the scores cached.
    func keepScoresWarm() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .seconds(10)) } catch { return }
            let stale = memory.withLock { memory in
                memory.refreshScoresDay(BusinessDays.today())
                return memory.scorer != nil && self.feeds.withLock { $0.warmedGeneration } != memory.scoresGeneration
            }
            if stale { await warmScores() }
        }
    }

    /// 0 while the follower reads its feed to the end without errors; since the last time it did
    /// once the source fails; -1 before it ever did.
    static func staleness(_ feed: FeedStatus.Feed?, nowMillis: Int64) -> Double {
        guard let feed, let at = feed.currentAt else { return -1 }
        return feed.error == nil ? 0 : max(0, Double(nowMillis - at) / 1_000)
    }

    /// The cursor names of `source` for each followed profiles process (before the map is read:
    /// those the store holds).
    static func names(_ source: CopyStore.Source, in status: FeedStatus) -> [String] {
        if let owners = status.owners { return owners.map { CopyStore.feed(source, owner: $0) } }
        return status.feeds.keys.filter { $0 == source.rawValue || $0.hasPrefix(source.rawValue + ".") }.sorted()
    }

    /// Over every profiles process followed: the positions added (one process: its position), and
    /// the largest staleness (-1 while any never was read to its end).
    static func combined(_ source: CopyStore.Source, _ status: FeedStatus, nowMillis: Int64) -> (sequence: UInt64, staleness: Double) {
        let names = self.names(source, in: status)
        let sequence = names.reduce(UInt64(0)) { $0 &+ (status.feeds[$1]?.sequence ?? 0) }
        let stalenesses = names.map { Self.staleness(status.feeds[$0], nowMillis: nowMillis) }
        let worst = stalenesses.isEmpty || stalenesses.contains(-1) ? -1 : stalenesses.max() ?? -1
        return (sequence, worst)
    }

    /// Each followed profiles process's change feed and event log, when there are several: the last
    /// position applied and the staleness, by owner (`profiles_staleness_seconds.profiles-1`).
    func ownerDetails(nowMillis: Int64 = currentUnixMillis()) -> [String: String] {
        let status = feeds.withLock { $0 }
        guard let owners = status.owners, owners.count > 1 else { return [:] }
        var details: [String: String] = ["profiles_owners": owners.joined(separator: ",")]
        for owner in owners {
            for (source, label) in [(CopyStore.Source.profiles, "profiles"), (.events, "events")] {
                let feed = status.feeds[CopyStore.feed(source, owner: owner)]
                details["\(label)_sequence.\(owner)"] = "\(feed?.sequence ?? 0)"
                details["\(label)_staleness_seconds.\(owner)"] = String(format: "%.1f", Self.staleness(feed, nowMillis: nowMillis))
                if let error = feed?.error { details["\(label)_error.\(owner)"] = error }
            }
        }
        return details
    }

    func status(nowMillis: Int64 = currentUnixMillis()) -> Crm_Matching_V1_ReplicaStatus {
        let feeds = self.feeds.withLock { $0 }
        let (customers, products, model, generation) = memory.withLock { ($0.customers.count, $0.catalog.count, $0.scorer?.version ?? "", $0.scoresGeneration) }
        let profiles = Self.combined(.profiles, feeds, nowMillis: nowMillis)
        let events = Self.combined(.events, feeds, nowMillis: nowMillis)
        let productsFeed = feeds.feeds[CopyStore.Source.products.rawValue]
        return .with {
            $0.customers = UInt64(customers)
            $0.products = UInt64(products)
            $0.purchases = UInt64(feeds.purchases)
            $0.profilesSequence = profiles.sequence
            $0.productsSequence = productsFeed?.sequence ?? 0
            $0.profilesStalenessSeconds = profiles.staleness
            $0.productsStalenessSeconds = Self.staleness(productsFeed, nowMillis: nowMillis)
            $0.modelVersion = model
            $0.ready = readiness.isReady
            $0.eventsSequence = events.sequence
            $0.scoresWarm = model.isEmpty || (feeds.warmedModel == model && feeds.warmedGeneration == generation
                && feeds.warmedDay == BusinessDays.day(ofMillis: nowMillis))
        }
    }
}
