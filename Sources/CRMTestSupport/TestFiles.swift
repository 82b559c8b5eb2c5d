import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where unit tests keep their SQLite stores: one folder per test process
/// (`<tmp>/crm-tests-<pid>/`), removed when the process exits.
///
/// Why: each store a test opens is a file with its `-wal` and `-shm` beside it, and a test that
/// named them in the temporary folder itself left them there — 19,055 of them (52 GB of /tmp with
/// the other leftovers) on the machine that runs CI, by the time this was written. Removing each
/// file when its test ends is not always possible (a test may restart a service on its file, or
/// stop at a failed expectation), so the whole folder goes at exit instead. A process killed
/// before it exits leaves its folder, named by its pid.
public enum TestFiles {
    private static let folder: Mutex<URL?> = Mutex(nil)

    /// A new path `<folder>/<name>-<uuid>.sqlite`; the folder is made (and its removal at exit
    /// registered) on first use.
    public static func sqlitePath(_ name: String) -> String {
        directory().appendingPathComponent("\(name)-\(UUID().uuidString).sqlite").path
    }

    /// The process's folder.
    public static func directory() -> URL {
        folder.withLock { folder in
            if let folder { return folder }
            let made = FileManager.default.temporaryDirectory.appendingPathComponent("crm-tests-\(getpid())")
            try? FileManager.default.createDirectory(at: made, withIntermediateDirectories: true)
            atexit {
                // No captures in a C callback: the folder is found again by the process id.
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-tests-\(getpid())")
                try? FileManager.default.removeItem(at: path)
            }
            folder = made
            return made
        }
    }
}
