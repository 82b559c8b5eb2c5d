import CRMRPC
import Foundation
import Logging
import UnixSignals

/// Runs one service as an executable: configuration in, the service assembled
/// (``ServiceAssembly``), the server bound (its port written to `--port-file`), the service group
/// run until SIGTERM/SIGINT, then the drain in reverse start order and the store closed. SIGHUP
/// re-reads the configuration's certificates, tokens and rate limits without dropping a connection,
/// then whatever the service re-reads itself (profiles: the partition map).
public enum ServiceHost {
    public static func run<S: CRMService>(_ service: S.Type, options: HostOptions) async throws {
        let configuration = try HostConfiguration.resolve(serviceName: S.name, defaultPort: S.defaultPort, options: options)
        LoggingSystem.bootstrap { label in
            if configuration.logJSON {
                var handler = JSONLogHandler(label: label, service: S.name)
                handler.logLevel = configuration.logLevel
                return handler
            }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = configuration.logLevel
            return handler
        }
        var logger = Logger(label: "crm.\(S.name)")
        logger.logLevel = configuration.logLevel

        let assembly = try ServiceAssembly<S>.assemble(configuration: configuration, logger: logger)
        // Trapped before the port file says the service is up, so an early SIGHUP reloads instead
        // of ending the process (its default action).
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        let service = assembly.service
        let reloader = ConfigurationReloader(signals: hangups, logger: logger, reload: {
            try assembly.reload(HostConfiguration.resolve(serviceName: S.name, defaultPort: S.defaultPort, options: options))
        }, reloadService: { await service.reloadOnHangup() })
        do {
            if let endpoint = assembly.metricsEndpoint {
                let metricsAddress = try await endpoint.start()
                if let file = configuration.metricsPortFile, let port = metricsAddress.port {
                    try "\(port)\n".write(toFile: file, atomically: true, encoding: .utf8)
                }
            }
            let address = try await assembly.server.start()
            if let portFile = configuration.portFile, let port = address.port {
                try "\(port)\n".write(toFile: portFile, atomically: true, encoding: .utf8)
            }
            try await assembly.serviceGroup(signals: [.sigterm, .sigint], companions: [reloader]).run()
        } catch {
            try? await assembly.close()
            throw error
        }
        try await assembly.close()
        logger.info("store closed; exiting")
    }
}
