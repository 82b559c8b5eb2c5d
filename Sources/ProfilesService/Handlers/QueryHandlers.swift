import CRMProtos
import CRMRPC
import CRMRules
import CustomerDimensions
import Foundation
import NIOConcurrencyHelpers

/// The read side: 360° view, rule search, a manager's book, branch figures, class distributions,
/// the data dictionary and the schemes, and saved segments.
struct QueryHandlers: Sendable {
    let queries: QueryStore
    let segments: SegmentStore
    let classifier: Classifier
    let schema: RuleSchema
    let index: DimensionIndex

    static let defaultPage = 50
    static let maxPage = 1_000

    func register(into router: inout Router) {
        let readers = AccessPolicy.roles(ProfilesRoles.manager, ProfilesRoles.headOffice, ProfilesRoles.service)
        let office = AccessPolicy.roles(ProfilesRoles.headOffice)
        router.unary(Crm_Profiles_V1_Profiles.getCustomer360, policy: readers, audit: .customers { [$0.customerID] }) { request, context in
            try await view360(request, context: context)
        }
        router.unary(Crm_Profiles_V1_Profiles.searchCustomers, policy: readers, audit: AuditRule(response: { request, response, audit in
            audit.touched(response.customers.map(\.customerID))
            audit.aggregate(rule: request.rule, count: response.customers.count)
        })) { request, context in
            try await search(request, context: context)
        }
        router.unary(Crm_Profiles_V1_Profiles.getManagerBook, policy: .roles(ProfilesRoles.manager, ProfilesRoles.headOffice),
                     audit: AuditRule(response: { request, response, audit in
            audit.touched(response.customers.map(\.customerID))
            audit.aggregate(rule: "manager_id = \(request.managerID)", count: Int(response.customerCount))
        })) { request, context in
            try await book(request, context: context)
        }
        router.unary(Crm_Profiles_V1_Profiles.getBranchFigures, policy: office) { _, _ in
            try await branchFigures()
        }
        router.unary(Crm_Profiles_V1_Profiles.getClassDistribution, policy: office) { request, _ in
            try await distribution(request)
        }
        router.unary(Crm_Profiles_V1_Profiles.listDimensions, policy: readers) { _, _ in
            dictionary()
        }
        router.unary(Crm_Profiles_V1_Profiles.listClassificationSchemes, policy: readers) { _, _ in
            schemes()
        }
        router.unary(Crm_Profiles_V1_Profiles.saveSegment, policy: office) { request, _ in
            try await saveSegment(request)
        }
        router.unary(Crm_Profiles_V1_Profiles.getSegment, policy: readers) { request, _ -> Crm_Profiles_V1_GetSegmentResponse in
            let segment = try await requireSegment(request.name)
            return .with { $0.segment = segment }
        }
        router.unary(Crm_Profiles_V1_Profiles.listSegments, policy: readers) { _, _ -> Crm_Profiles_V1_ListSegmentsResponse in
            let all = try await segments.all()
            return .with { $0.segments = all }
        }
        router.unary(Crm_Profiles_V1_Profiles.countSegment, policy: readers, audit: AuditRule(response: { request, response, audit in
            audit.aggregate(rule: request.name.isEmpty ? request.rule : "segment \(request.name)", count: Int(response.count))
        })) { request, context in
            try await count(request, context: context)
        }
        router.unary(Crm_Profiles_V1_Profiles.listSegmentMembers, policy: readers, audit: AuditRule(response: { request, response, audit in
            audit.touched(response.customers.map(\.customerID))
            audit.aggregate(rule: "segment \(request.name)", count: response.customers.count)
        })) { request, context in
            let segment = try await requireSegment(request.name)
            let found = try await matching(rule: segment.rule, field: "name", page: request.page, orderBy: "", descending: false, context: context)
            return Crm_Profiles_V1_ListSegmentMembersResponse.with {
                $0.customers = found.customers
                $0.page = found.page
            }
        }
    }

    // MARK: Rules

    /// Parses and checks a rule; a bad one is INVALID_ARGUMENT naming the field, the position and the reason.
    func compile(_ text: String, field: String) throws -> CompiledRule? {
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        do {
            return try Rule.parse(text, schema: schema).compile(against: schema)
        } catch {
            throw RPCError.invalidArgument(field: field, error.description)
        }
    }

    /// A page of customers matching a rule: the summaries, the page's token and total, and with a
    /// sort the rows' sort keys (what a merging process orders the owners' pages by).
    struct Found {
        var customers: [Crm_Profiles_V1_CustomerSummary]
        var page: Crm_Common_V1_PageInfo
        var sortKeys: [Double] = []
    }

    /// Customers matching a rule that the caller may see, paged by customer id or sorted by a
    /// dimension. Sorted pages continue from a ``SortedPageCursor`` token; pages by customer id from
    /// the last id.
    func matching(
        rule text: String, field: String, page: Crm_Common_V1_PageRequest, orderBy: String, descending: Bool, context: CallContext
    ) async throws -> Found {
        let rule = try compile(text, field: field)
        let size = try pageSize(page)
        if !orderBy.isEmpty {
            guard DimensionCatalog.definition(named: orderBy)?.type.isNumeric == true else {
                throw RPCError.invalidArgument(field: "order_by", "\(orderBy) is not a numeric dimension")
            }
        }
        let cursor = try Self.cursor(page.pageToken, orderBy: orderBy)
        let scope = try managerScope(context)
        let after = page.pageToken
        if scope == nil, index.isReady {
            return try await indexed(rule: rule, size: size, after: after, cursor: cursor, orderBy: orderBy, descending: descending)
        }
        let collected = NIOLockedValueBox<[QueryStore.Scanned]>([])
        let total = NIOLockedValueBox(0)
        try await queries.scan(managerID: scope) { scanned in
            guard rule?.matches(ProfileRecord(customer: scanned.customer, dimensions: scanned.dimensions)) ?? true else { return true }
            total.withLockedValue { $0 += 1 }
            if orderBy.isEmpty {
                if scanned.customer.customerID > after, collected.withLockedValue({ $0.count }) <= size {
                    collected.withLockedValue { $0.append(scanned) }
                }
            } else if cursor?.isBefore(SortedPageCursor.key(of: scanned.dimensions.numbers[orderBy]), scanned.customer.customerID,
                                       descending: descending) ?? true {
                collected.withLockedValue { $0.append(scanned) }
            }
            return true
        }
        var rows = collected.withLockedValue { $0 }
        func key(_ row: QueryStore.Scanned) -> Double { SortedPageCursor.key(of: row.dimensions.numbers[orderBy]) }
        if !orderBy.isEmpty {
            rows.sort { lhs, rhs in
                SortedPageCursor.precedes(key(lhs), lhs.customer.customerID, key(rhs), rhs.customer.customerID, descending: descending)
            }
        }
        let hasMore = rows.count > size
        let pageRows = Array(rows.prefix(size))
        var info = Crm_Common_V1_PageInfo()
        info.totalCount = UInt64(total.withLockedValue { $0 })
        let keys = orderBy.isEmpty ? [] : pageRows.map(key)
        if hasMore, let last = pageRows.last {
            info.nextPageToken = orderBy.isEmpty ? last.customer.customerID : SortedPageCursor(key: key(last), customerID: last.customer.customerID).token
        }
        return Found(customers: pageRows.map(QueryStore.summary), page: info, sortKeys: keys)
    }

    /// Where a sorted search continues; nil for its first page and for searches by customer id.
    private static func cursor(_ token: String, orderBy: String) throws -> SortedPageCursor? {
        guard !orderBy.isEmpty, !token.isEmpty else { return nil }
        guard let cursor = SortedPageCursor(token: token) else {
            throw RPCError.invalidArgument(field: "page.page_token", "is not a token of a search sorted by a dimension: "
                + "pass back the next_page_token of the previous page with the same rule and order")
        }
        return cursor
    }

    /// The same search answered from the in-memory columns (``IndexedSearchPage``); only the
    /// page's rows are read from the store.
    private func indexed(
        rule: CompiledRule?, size: Int, after: String, cursor: SortedPageCursor?, orderBy: String, descending: Bool
    ) async throws -> Found {
        var fields = rule?.rule.fields ?? []
        if !orderBy.isEmpty { fields.insert(orderBy) }
        let snapshot = index.searchSnapshot(for: fields, sortedBy: orderBy.isEmpty ? nil : orderBy)
        let bits = rule?.bitmap(columns: snapshot.columns)
        let page = orderBy.isEmpty
            ? IndexedSearchPage.byID(matching: bits, ids: snapshot.customerIDs, idOrder: snapshot.idOrder, after: after, size: size)
            : IndexedSearchPage.byKey(matching: bits, values: snapshot.sortValues, ids: snapshot.customerIDs, cursor: cursor,
                                      descending: descending, size: size)
        let pageIDs = page.rows.map { snapshot.customerIDs[Int($0)] }
        let scanned = try await queries.scanned(ids: pageIDs)
        var info = Crm_Common_V1_PageInfo()
        info.totalCount = UInt64(page.total)
        if page.hasMore, let last = pageIDs.last {
            info.nextPageToken = orderBy.isEmpty ? last : SortedPageCursor(key: page.keys[page.keys.count - 1], customerID: last).token
        }
        // Keys by id: a row read back is matched to its key even if one went missing meanwhile.
        let keys = Dictionary(zip(pageIDs, page.keys), uniquingKeysWith: { first, _ in first })
        return Found(customers: scanned.map(QueryStore.summary), page: info,
                     sortKeys: orderBy.isEmpty ? [] : scanned.map { keys[$0.customer.customerID] ?? -.infinity })
    }

    private func pageSize(_ page: Crm_Common_V1_PageRequest) throws -> Int {
        if page.pageSize == 0 { return Self.defaultPage }
        guard page.pageSize <= Self.maxPage else { throw RPCError.invalidArgument(field: "page.page_size", "at most \(Self.maxPage)") }
        return Int(page.pageSize)
    }

    /// A client manager sees only their own customers; everyone else sees all (nil).
    private func managerScope(_ context: CallContext) throws -> String? {
        let principal = try context.requirePrincipal()
        if CustomerAccess.seesEverything(principal) { return nil }
        guard let managerID = principal.attributes["manager_id"] else {
            throw RPCError(.permissionDenied, "\(principal.name) has no manager_id to scope its customers by")
        }
        return managerID
    }

    // MARK: Methods

    func view360(_ request: Crm_Profiles_V1_GetCustomer360Request, context: CallContext) async throws -> Crm_Profiles_V1_GetCustomer360Response {
        guard !request.customerID.isEmpty else { throw RPCError.invalidArgument(field: "customer_id", "is required") }
        let limit = request.recentLimit == 0 ? 20 : Int(min(request.recentLimit, 200))
        let compiled = try await segments.compiled { try? compile($0, field: "segment") }.map { ($0.name, $0.rule) }
        guard let view = try await queries.view360(id: request.customerID, recentLimit: limit, segments: compiled) else {
            throw CustomerAccess.missing(request.customerID, for: context.principal)
        }
        try CustomerAccess.check(context.principal, mayRead: view.customer)
        return .with { $0.view = view }
    }

    func search(_ request: Crm_Profiles_V1_SearchCustomersRequest, context: CallContext) async throws -> Crm_Profiles_V1_SearchCustomersResponse {
        let found = try await matching(rule: request.rule, field: "rule", page: request.page, orderBy: request.orderBy, descending: request.descending, context: context)
        return .with {
            $0.customers = found.customers
            $0.page = found.page
            $0.sortValues = found.sortKeys
        }
    }

    func book(_ request: Crm_Profiles_V1_GetManagerBookRequest, context: CallContext) async throws -> Crm_Profiles_V1_GetManagerBookResponse {
        let principal = try context.requirePrincipal()
        var managerID = request.managerID
        if !CustomerAccess.seesEverything(principal) {
            let own = principal.attributes["manager_id"] ?? ""
            if managerID.isEmpty { managerID = own }
            guard managerID == own, !own.isEmpty else {
                throw RPCError(.permissionDenied, "\(principal.name) may read only its own book")
            }
        }
        guard !managerID.isEmpty else { throw RPCError.invalidArgument(field: "manager_id", "is required") }
        let size = try pageSize(request.page)
        let after = request.page.pageToken
        let state = NIOLockedValueBox((rows: [QueryStore.Scanned](), count: 0, assets: Int64(0)))
        try await queries.scan(managerID: managerID) { scanned in
            state.withLockedValue { state in
                state.count += 1
                state.assets += Int64((scanned.dimensions.numbers["total_assets"] ?? 0).rounded())
                if scanned.customer.customerID > after, state.rows.count <= size { state.rows.append(scanned) }
            }
            return true
        }
        let result = state.withLockedValue { $0 }
        return .with {
            $0.customers = result.rows.prefix(size).map(QueryStore.summary)
            $0.customerCount = UInt32(result.count)
            $0.totalAssets = .fen(result.assets)
            $0.page = .with { page in
                page.totalCount = UInt64(result.count)
                if result.rows.count > size { page.nextPageToken = result.rows[size - 1].customer.customerID }
            }
        }
    }

    func branchFigures() async throws -> Crm_Profiles_V1_GetBranchFiguresResponse {
        let figures = NIOLockedValueBox([String: Crm_Profiles_V1_BranchFigures]())
        try await queries.scan { scanned in
            let assets = Int64((scanned.dimensions.numbers["total_assets"] ?? 0).rounded())
            let status = scanned.customer.status.name
            figures.withLockedValue { all in
                for key in [scanned.customer.branchID, "\u{0}firm"] {
                    var entry = all[key] ?? .with { $0.branchID = key == "\u{0}firm" ? "" : key }
                    entry.customers += 1
                    entry.customersByStatus[status, default: 0] += 1
                    entry.totalAssets.minorUnits += assets
                    all[key] = entry
                }
            }
            return true
        }
        var all = figures.withLockedValue { $0 }
        let firm = all.removeValue(forKey: "\u{0}firm") ?? Crm_Profiles_V1_BranchFigures()
        return .with {
            $0.branches = all.values.sorted { $0.branchID < $1.branchID }
            $0.headOffice = firm
        }
    }

    func distribution(_ request: Crm_Profiles_V1_GetClassDistributionRequest) async throws -> Crm_Profiles_V1_GetClassDistributionResponse {
        guard let scheme = classifier.scheme(named: request.scheme) else {
            throw RPCError.invalidArgument(field: "scheme", "unknown scheme \(request.scheme); see ListClassificationSchemes")
        }
        let counts = NIOLockedValueBox([String: UInt32]())
        try await queries.scan(branchID: request.branchID.isEmpty ? nil : request.branchID) { scanned in
            let value = scanned.dimensions.classes[scheme.name] ?? "unclassified"
            counts.withLockedValue { $0[value, default: 0] += 1 }
            return true
        }
        return .with {
            $0.scheme = scheme.name
            $0.customersByClass = counts.withLockedValue { $0 }
        }
    }

    func dictionary() -> Crm_Profiles_V1_ListDimensionsResponse {
        .with {
            $0.dimensions = DimensionCatalog.all.map { definition in
                .with {
                    $0.name = definition.name
                    $0.type = Self.wireType(definition.type)
                    $0.unit = definition.unit
                    $0.group = definition.group.rawValue
                    $0.definition = definition.definition
                }
            }
        }
    }

    func schemes() -> Crm_Profiles_V1_ListClassificationSchemesResponse {
        .with {
            $0.schemes = classifier.schemes.map { scheme in
                .with {
                    $0.name = scheme.name
                    $0.description_p = scheme.description
                    $0.dimension = scheme.dimension
                    $0.classes = scheme.classes
                    $0.thresholds = scheme.thresholds
                }
            }
        }
    }

    func saveSegment(_ request: Crm_Profiles_V1_SaveSegmentRequest) async throws -> Crm_Profiles_V1_SaveSegmentResponse {
        let segment = request.segment
        let validName = !segment.name.isEmpty && segment.name.count <= 64
            && segment.name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
        guard validName else { throw RPCError.invalidArgument(field: "segment.name", "must be 1-64 characters of a-z, 0-9, _ and -") }
        guard try compile(segment.rule, field: "segment.rule") != nil else {
            throw RPCError.invalidArgument(field: "segment.rule", "is required")
        }
        let saved = try await segments.save(segment)
        return .with { $0.segment = saved }
    }

    func requireSegment(_ name: String) async throws -> Crm_Profiles_V1_Segment {
        guard !name.isEmpty else { throw RPCError.invalidArgument(field: "name", "is required") }
        guard let segment = try await segments.segment(named: name) else { throw RPCError(.notFound, "no segment \(name)") }
        return segment
    }

    func count(_ request: Crm_Profiles_V1_CountSegmentRequest, context: CallContext) async throws -> Crm_Profiles_V1_CountSegmentResponse {
        let text: String
        let field: String
        if !request.name.isEmpty {
            text = try await requireSegment(request.name).rule
            field = "name"
        } else {
            text = request.rule
            field = "rule"
        }
        let rule = try compile(text, field: field)
        let scope = try managerScope(context)
        if scope == nil, index.isReady {
            let fields = rule?.rule.fields ?? []
            let (columns, ids) = index.columns(for: fields)
            return .with {
                $0.count = UInt64(rule?.count(columns: columns) ?? ids.count)
                $0.population = UInt64(ids.count)
            }
        }
        let tally = NIOLockedValueBox((count: UInt64(0), population: UInt64(0)))
        try await queries.scan(managerID: scope) { scanned in
            let hit = rule?.matches(ProfileRecord(customer: scanned.customer, dimensions: scanned.dimensions)) ?? true
            tally.withLockedValue {
                $0.population += 1
                if hit { $0.count += 1 }
            }
            return true
        }
        let result = tally.withLockedValue { $0 }
        return .with {
            $0.count = result.count
            $0.population = result.population
        }
    }

    static func wireType(_ type: DimensionType) -> Crm_Profiles_V1_DimensionType {
        switch type {
        case .number: return .number
        case .money: return .money
        case .count: return .count
        case .ratio: return .ratio
        case .days: return .days
        case .category: return .category
        }
    }
}
