import Logging
import ServiceLifecycle
import UnixSignals

/// Re-reads the configuration on every SIGHUP — certificates, tokens, certificate principals, rate
/// limits — so credentials rotate without a restart and without dropping a connection. A reload
/// that fails (a missing file, a key that does not match) leaves the previous configuration in
/// force and says why in the log.
struct ConfigurationReloader: Service {
    let signals: UnixSignalsSequence
    let logger: Logger
    let reload: @Sendable () throws -> String
    /// The service's own part (``CRMService/reloadOnHangup()``), run after the configuration's.
    let reloadService: @Sendable () async -> String?

    init(signals: UnixSignalsSequence, logger: Logger, reload: @escaping @Sendable () throws -> String,
         reloadService: @escaping @Sendable () async -> String? = { nil }) {
        self.signals = signals
        self.logger = logger
        self.reload = reload
        self.reloadService = reloadService
    }

    func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            do {
                let summary = try reload()
                logger.notice("reloaded the configuration on SIGHUP: \(summary)")
            } catch {
                logger.error("reload on SIGHUP failed; the previous configuration stays in force: \(error)")
            }
            if let summary = await reloadService() {
                logger.notice("reloaded on SIGHUP: \(summary)")
            }
        }
    }
}
