import CompensationSettlement
import CRMProtos

/// Page sizes and tokens of list calls: a token is the last key of the previous page.
enum Paging {
    /// The page size asked for, or `standard` for 0, at most `maximum`.
    static func size(_ page: Crm_Common_V1_PageRequest, standard: Int, maximum: Int) -> Int {
        page.pageSize == 0 ? standard : min(Int(page.pageSize), maximum)
    }

    static func info(next: String, total: Int) -> Crm_Common_V1_PageInfo {
        .with {
            $0.nextPageToken = next
            $0.totalCount = UInt64(max(0, total))
        }
    }
}
