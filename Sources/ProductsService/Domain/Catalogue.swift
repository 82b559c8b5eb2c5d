import CRMProtos
import Synchronization

/// The current version of every product, in memory and ordered by code, for catalogue queries.
///
/// The library is small (about a thousand products) and read far more often than written, so a query
/// is a scan of a sorted array under a lock: microseconds, with no store round trip. The store stays
/// the truth: the catalogue is built from it at start-up and every committed write is applied after
/// its transaction. Writes may reach the catalogue out of commit order (two tasks), so an entry is
/// only ever replaced by a higher version.
final class Catalogue: Sendable {
    private let entries: Mutex<[CatalogueEntry]>

    init(products: [Crm_Products_V1_Product]) {
        entries = Mutex(products.sorted { $0.productCode < $1.productCode }.map(CatalogueEntry.init))
    }

    /// Applies a stored version, unless the catalogue already holds that version or a later one.
    func apply(_ product: Crm_Products_V1_Product) {
        let entry = CatalogueEntry(product)
        entries.withLock { entries in
            let index = Self.firstIndex(notBefore: product.productCode, in: entries)
            if index < entries.count, entries[index].code == product.productCode {
                if entries[index].version < product.version { entries[index] = entry }
            } else {
                entries.insert(entry, at: index)
            }
        }
    }

    var count: Int { entries.withLock { $0.count } }

    /// One page of the products matching `filter` with codes after `afterCode`, at most `limit`,
    /// the number matching in all, and whether more follow the page.
    func query(_ filter: CatalogueFilter, afterCode: String, limit: Int) -> (page: [Crm_Products_V1_Product], total: Int, more: Bool) {
        entries.withLock { entries in
            var page: [Crm_Products_V1_Product] = []
            var total = 0
            var more = false
            for entry in entries where filter.matches(entry) {
                total += 1
                guard entry.code > afterCode else { continue }
                if page.count < limit { page.append(entry.product) } else { more = true }
            }
            return (page, total, more)
        }
    }

    /// Binary search: the index of the first entry whose code is not before `code`.
    private static func firstIndex(notBefore code: String, in entries: [CatalogueEntry]) -> Int {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].code < code { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
