/// Polls `condition` until it holds, every `interval`.
///
/// Tests wait for a state, never for a wall-clock budget: on a machine busy with other builds a
/// service may take many times longer than usual to catch up, and a time limit would turn that into
/// a failure. A condition that never holds hangs the test, which the runner (and CI's own bound)
/// reports with the test's name.
public func waitUntil(every interval: Duration = .milliseconds(10), _ condition: () async throws -> Bool) async throws {
    while try await !condition() {
        try await Task.sleep(for: interval)
    }
}
