import CoreMetrics
import CRMRPC
import CRMServiceHost
import Synchronization

/// What products counts of its sales: orders by outcome (`accepted`, `duplicate`, `refused`) and
/// the status they were answered with, and how long the suitability gate took to get matching's
/// decision, by its result (`decided`, `undecidable`, `unavailable`).
final class OrderMetrics: Sendable {
    private let metrics: ServiceMetrics
    private let counters = Mutex<[String: Counter]>([:])
    private let gateTimers = Mutex<[String: CoreMetrics.Timer]>([:])

    init(_ metrics: ServiceMetrics) {
        self.metrics = metrics
    }

    func order(outcome: String, status: String) {
        let key = "\(outcome)/\(status)"
        let counter = counters.withLock { table in
            if let known = table[key] { return known }
            let made = metrics.counter("crm_products_orders_total", [("outcome", outcome), ("status", status)])
            table[key] = made
            return made
        }
        counter.increment()
    }

    func gate(result: String, nanoseconds: Int64) {
        let timer = gateTimers.withLock { table in
            if let known = table[result] { return known }
            let made = metrics.timer("crm_products_suitability_gate_duration_seconds", [("result", result)])
            table[result] = made
            return made
        }
        timer.recordNanoseconds(nanoseconds)
    }
}
