import Foundation

/// The development PKI `crmctl up` serves with: made by scripts/dev-certs.sh (a CA and one
/// certificate per service, short-lived, never committed) when the folder lacks it, so `crmctl up`
/// and `scripts/up.sh` run with TLS on a fresh machine.
enum DevelopmentCertificates {
    static let services = ["profiles", "products", "matching", "compensation"]

    /// Runs scripts/dev-certs.sh for `folder` (it keeps a complete, unexpired set as it is). The
    /// script is looked for in the working directory, then beside the build folder crmctl runs from.
    static func ensure(in folder: String, binaryDir: String) throws {
        let candidates = [
            "scripts/dev-certs.sh",
            URL(fileURLWithPath: binaryDir).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("scripts/dev-certs.sh").path,
        ]
        let needed = ["ca.crt"] + services.flatMap { ["\($0).crt", "\($0).key"] }
        let complete = needed.allSatisfy { FileManager.default.fileExists(atPath: "\(folder)/\($0)") }
        guard let script = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            if complete { return }
            throw CRMCtlError("no TLS certificates in \(folder) and no scripts/dev-certs.sh to make them: run it from the repository, "
                + "pass --certs with a folder holding ca.crt and <service>.crt/.key, or --plaintext")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, folder]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CRMCtlError("\(script) \(folder) failed (exit \(process.terminationStatus)); is openssl installed (scripts/setup.sh)?")
        }
    }
}
