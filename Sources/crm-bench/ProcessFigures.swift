import Foundation

/// What the kernel counts for a process or one of its threads (proc(5)): CPU time from `stat`,
/// memory from `status`. `process` is a pid, or "self" for the benchmark itself.
enum ProcessFigures {
    /// User plus system CPU seconds so far, from a `stat` file (`/proc/<pid>/stat`, or a thread's
    /// `/proc/self/task/<tid>/stat`).
    static func cpuSeconds(statPath: String) -> Double {
        guard let stat = try? String(contentsOfFile: statPath, encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        // After the command: state is field 3, utime field 14, stime field 15 (1-based in proc(5)).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(max(sysconf(Int32(_SC_CLK_TCK)), 1))
    }

    static func cpuSeconds(process: String = "self") -> Double {
        cpuSeconds(statPath: "/proc/\(process)/stat")
    }

    /// A `status` figure in MiB (VmRSS now, VmHWM the peak, RssAnon, RssFile).
    static func memoryMiB(_ field: String, process: String = "self") -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(process)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("\(field):") }),
              let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes / 1_024
    }
}
