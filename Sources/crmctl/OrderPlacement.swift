import CRMProtos
import CRMReport
import CRMRPC

/// A subscription placed the way the website places one: the customer signs the product's
/// contract (confirming every risk disclosure), then the order goes to products, which asks
/// matching for the suitability decision before accepting it.
struct OrderPlacement: Sendable {
    let clients: DemoClients
    enum Outcome: CustomStringConvertible {
        /// Accepted now, or earlier under the same order id.
        case accepted(Crm_Products_V1_Order, new: Bool)
        /// Refused with the service's status.
        case refused(RPCError, step: String)

        var description: String {
            switch self {
            case .accepted(let order, let new):
                let suitability = order.suitability == .match ? "MATCH" : order.suitability == .mismatchConfirmed ? "MISMATCH_CONFIRMED" : "\(order.suitability)"
                return "accepted\(new ? "" : " earlier"): order \(order.orderID), \(Format.money(fen: order.amount.minorUnits)), suitability \(suitability)"
            case .refused(let error, let step):
                return "refused by \(step): \(error.code.canonicalName) — \(error.message)"
            }
        }

        var isAccepted: Bool {
            if case .accepted = self { return true }
            return false
        }
    }

    /// Places a subscription of `product`'s minimum amount (at least ¥10,000), idempotently by
    /// `orderID`: an order already accepted is not signed or placed again.
    func place(orderID: String, customer: String, product: Crm_Products_V1_Product) async -> Outcome {
        if let existing = try? await clients.products.unary(Crm_Products_V1_Products.getOrder, Crm_Products_V1_GetOrderRequest.with { $0.orderID = orderID }).order {
            return .accepted(existing, new: false)
        }
        let template: Crm_Products_V1_ContractTemplate
        do {
            template = try await clients.products.unary(Crm_Products_V1_Products.getContractTemplate, Crm_Products_V1_GetContractTemplateRequest.with {
                $0.productCode = product.productCode
            }).template
            _ = try await clients.products.unary(Crm_Products_V1_Products.signContract, Crm_Products_V1_SignContractRequest.with {
                $0.customerID = customer
                $0.productCode = product.productCode
                $0.templateVersion = template.version
                $0.channel = .app
                $0.confirmedDisclosureIds = template.disclosures.map(\.disclosureID)
            })
        } catch {
            return .refused(Self.rpcError(error), step: "SignContract")
        }
        do {
            let response = try await clients.products.unary(Crm_Products_V1_Products.placeOrder, Crm_Products_V1_PlaceOrderRequest.with {
                $0.order = .with {
                    $0.orderID = orderID
                    $0.customerID = customer
                    $0.productCode = product.productCode
                    $0.side = .subscription
                    $0.amount = .with { $0.minorUnits = max(product.minimumPurchase.minorUnits, 1_000_000) }
                    $0.channel = .app
                }
            })
            return .accepted(response.order, new: response.created)
        } catch {
            return .refused(Self.rpcError(error), step: "PlaceOrder")
        }
    }

    static func rpcError(_ error: any Error) -> RPCError {
        (error as? RPCError) ?? RPCError(.unknown, "\(error)")
    }
}
