import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// GET over plain HTTP for tests (metrics endpoints, Prometheus' API), without URLSession's
/// 60-second default request timeout: on a machine busy with every suite at once and a benchmark
/// beside them a loopback request was once answered later than that and the test failed on the
/// clock (NSURLErrorDomain -1001). Tests wait for answers, never on a wall-clock budget; a server
/// that never answers hangs the test, which the runner reports by name.
public enum HTTPFetch {
    /// The body and the response of a GET of `url`.
    public static func get(_ url: URL) async throws -> (Data, HTTPURLResponse?) {
        var request = URLRequest(url: url)
        request.timeoutInterval = 86_400
        let (data, response) = try await URLSession.shared.data(for: request)
        return (data, response as? HTTPURLResponse)
    }
}
