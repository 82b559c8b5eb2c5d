import CompensationSettlement
import CRMServiceHost

/// The service's settings (`settings` in services/compensation/config.json), parsed once at start-up.
///
/// - `effective_account.min_month_end_assets_fen`: an effective account has at least these total
///   assets on the month's last day (default 1000000, i.e. 10,000 CNY);
/// - `effective_account.min_trades_in_month`: … and at least this many trades in the month (default 1);
/// - `trade_costs`: other trade costs as `name=bp,name=bp` of the trade amount (default none; see
///   ``TradeCostSchedule``); a scheme's `deducted_costs` names which ones net commission deducts;
/// - `feeds.poll_interval_ms`: how long a caught-up feed consumer waits before asking again (1000);
/// - `feeds.wait_ms`: how long profiles and products may hold a caught-up feed's read open for the next event
///   or change (10000; 0 = poll every `feeds.poll_interval_ms`; at most 60000);
/// - `feeds.batch`: events asked for per call (2000);
/// - `feeds.max_backoff_ms`: the longest wait after failures, doubling from 100 ms (30000).
struct CompensationSettings: Sendable {
    var effectiveAccount = EffectiveAccountDefinition(minimumMonthEndAssetsFen: 1_000_000, minimumTradesInMonth: 1)
    var tradeCosts = TradeCostSchedule()
    var pollInterval: Duration = .milliseconds(1_000)
    /// Nil: poll profiles' feeds every interval instead of waiting reads.
    var feedWait: Duration? = .seconds(10)
    var batch = 2_000
    var maxBackoff: Duration = .milliseconds(30_000)

    init(_ settings: [String: String]) throws {
        let reader = SettingsReader(settings)
        try reader.refuseUnknown(known: [
            "effective_account.min_month_end_assets_fen", "effective_account.min_trades_in_month", "trade_costs",
            "feeds.poll_interval_ms", "feeds.wait_ms", "feeds.batch", "feeds.max_backoff_ms",
        ])
        effectiveAccount.minimumMonthEndAssetsFen = Int64(try reader.integer("effective_account.min_month_end_assets_fen", default: 1_000_000, in: 0...Int.max))
        effectiveAccount.minimumTradesInMonth = try reader.integer("effective_account.min_trades_in_month", default: 1, in: 0...1_000_000)
        if let text = settings["trade_costs"] {
            switch TradeCostSchedule.parse(text) {
            case .success(let schedule): tradeCosts = schedule
            case .failure(let error): throw ConfigurationError("setting trade_costs: \(error)")
            }
        }
        pollInterval = try reader.milliseconds("feeds.poll_interval_ms", default: 1_000, in: 1...3_600_000)
        let wait = try reader.integer("feeds.wait_ms", default: 10_000, in: 0...60_000)
        feedWait = wait == 0 ? nil : .milliseconds(wait)
        batch = try reader.integer("feeds.batch", default: 2_000, in: 1...100_000)
        maxBackoff = try reader.milliseconds("feeds.max_backoff_ms", default: 30_000, in: 1...3_600_000)
    }

    /// The effective-account definition as people read it.
    var effectiveAccountText: String {
        "month-end assets >= \(effectiveAccount.minimumMonthEndAssetsFen) fen and >= \(effectiveAccount.minimumTradesInMonth) trade(s) in the month"
    }
}
