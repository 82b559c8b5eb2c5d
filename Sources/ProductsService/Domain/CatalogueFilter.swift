import CRMPrimitives
import CRMProtos
import Foundation

/// A catalogue query's filters, checked and prepared once. Pure: no I/O.
///
/// Every filter given must hold: the type is one of `types` (when any are given), likewise risk
/// level and status; the product carries every tag in `tags`; its name contains `nameContains`,
/// compared case-insensitively.
struct CatalogueFilter: Sendable {
    var types: Set<Crm_Products_V1_ProductType> = []
    var riskLevels: Set<Crm_Common_V1_RiskLevel> = []
    var statuses: Set<Crm_Products_V1_ProductStatus> = []
    var tags: [String] = []
    /// The folded text (see ``fold(_:)``) as UTF-8; empty = any name.
    var nameContains: [UInt8] = []

    static let defaultPageSize = 50
    static let maxPageSize = 500

    init() {}

    init(_ request: Crm_Products_V1_ListProductsRequest) {
        types = Set(request.types)
        riskLevels = Set(request.riskLevels)
        statuses = Set(request.statuses)
        tags = Array(Set(request.tags))
        nameContains = Array(Self.fold(request.nameContains.trimmingCharacters(in: .whitespaces)).utf8)
    }

    func matches(_ entry: CatalogueEntry) -> Bool {
        if !types.isEmpty, !types.contains(entry.type) { return false }
        if !riskLevels.isEmpty, !riskLevels.contains(entry.riskLevel) { return false }
        if !statuses.isEmpty, !statuses.contains(entry.status) { return false }
        for tag in tags where !entry.tags.contains(tag) { return false }
        if !nameContains.isEmpty, !Self.bytes(entry.foldedName, contain: nameContains) { return false }
        return true
    }

    /// Whether `needle` occurs in `haystack`. On valid UTF-8 a byte match is a match of whole
    /// characters, and a plain scan over a short name is far cheaper than `String.contains`.
    static func bytes(_ haystack: [UInt8], contain needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, let first = needle.first else { return needle.isEmpty }
        let last = haystack.count - needle.count
        var start = 0
        while start <= last {
            if haystack[start] == first {
                var offset = 1
                while offset < needle.count, haystack[start + offset] == needle[offset] { offset += 1 }
                if offset == needle.count { return true }
            }
            start += 1
        }
        return false
    }

    /// Lower case without diacritics or width differences, so `etf` finds `ETF` and `ＥＴＦ`.
    static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
    }

    /// The page size a request asks for, or INVALID_ARGUMENT above the maximum.
    static func pageSize(_ page: Crm_Common_V1_PageRequest) throws -> Int {
        if page.pageSize == 0 { return defaultPageSize }
        guard page.pageSize <= UInt32(maxPageSize) else {
            throw Refusal.invalidArgument(field: "page.page_size", "must be at most \(maxPageSize)")
        }
        return Int(page.pageSize)
    }

    /// The page token is the last product code of the previous page, base64url-encoded, so callers
    /// treat it as opaque.
    static func token(after code: String) -> String {
        Data(code.utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// The product code a page token continues after ("" for the first page), or INVALID_ARGUMENT.
    static func code(fromToken token: String) throws -> String {
        guard !token.isEmpty else { return "" }
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let code = String(data: data, encoding: .utf8), !code.isEmpty else {
            throw Refusal.invalidArgument(field: "page.page_token", "is not a token this method returned")
        }
        return code
    }
}

/// One product as the catalogue holds it: the current version, with what filters read (code, type,
/// risk, status, folded name, tag set) copied out once per write rather than read through the
/// message's storage once per query.
struct CatalogueEntry: Sendable {
    let product: Crm_Products_V1_Product
    let code: String
    let type: Crm_Products_V1_ProductType
    let riskLevel: Crm_Common_V1_RiskLevel
    let status: Crm_Products_V1_ProductStatus
    let version: UInt32
    /// The name folded (see ``CatalogueFilter/fold(_:)``), as UTF-8.
    let foldedName: [UInt8]
    let tags: Set<String>

    init(_ product: Crm_Products_V1_Product) {
        self.product = product
        self.code = product.productCode
        self.type = product.type
        self.riskLevel = product.riskLevel
        self.status = product.status
        self.version = product.version
        self.foldedName = Array(CatalogueFilter.fold(product.name).utf8)
        self.tags = Set(product.tags)
    }
}
