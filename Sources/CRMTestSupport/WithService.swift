/// Something a test starts and must stop whatever happens: a service in the process, a harness
/// around one, a child process.
public protocol StoppableService {
    func stop() async throws
}

/// Runs `body` with `service` and stops it afterwards, also when `body` throws: a test that ends
/// with a trailing `stop()` skips it at the first failing `try`, leaving the service's port, store
/// and background tasks behind for the rest of the run.
///
/// When `body` fails, its error is the one reported; a failure to stop is reported only when the
/// body succeeded.
public func withService<Service: StoppableService, Result>(
    _ service: Service,
    _ body: (Service) async throws -> Result
) async throws -> Result {
    let result: Result
    do {
        result = try await body(service)
    } catch {
        try? await service.stop()
        throw error
    }
    try await service.stop()
    return result
}

extension InProcessService: StoppableService {}
