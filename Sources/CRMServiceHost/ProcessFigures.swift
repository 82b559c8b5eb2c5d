import Foundation

/// What the kernel counts for a process or one of its threads (proc(5)): CPU time from `stat`,
/// memory from `status`, descriptors from `fd`, and the memory limit of the process's control group.
/// `process` is a pid, or "self" for the calling process.
///
/// Why here: the services export these figures at every scrape (``ProcessMetrics``) and the
/// benchmarks print them per run; one reader keeps the two agreeing. Every reader answers `nil`
/// (or 0 for the benchmarks' sums) where the file is missing — not Linux, or a kernel without it —
/// so a figure that cannot be read is left out rather than shown as a false zero.
public enum ProcessFigures {
    /// User plus system CPU seconds so far, from a `stat` file (`/proc/<pid>/stat`, or a thread's
    /// `/proc/self/task/<tid>/stat`).
    public static func cpuSeconds(statPath: String) -> Double {
        guard let fields = statFields(statPath), let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / clockTicksPerSecond
    }

    public static func cpuSeconds(process: String = "self") -> Double {
        cpuSeconds(statPath: "/proc/\(process)/stat")
    }

    /// A `status` figure in MiB (VmRSS now, VmHWM the peak, RssAnon, RssFile); 0 when unreadable.
    public static func memoryMiB(_ field: String, process: String = "self") -> Double {
        Double(statusBytes(field, process: process) ?? 0) / 1_048_576
    }

    /// A `status` figure in bytes (VmRSS, VmHWM, VmSize…), or nil when it cannot be read.
    public static func statusBytes(_ field: String, process: String = "self") -> Int? {
        statusBytes([field], process: process)[field]
    }

    /// Several `status` figures in bytes from one read of the file, by name; those that cannot be
    /// read are missing.
    public static func statusBytes(_ fields: Set<String>, process: String = "self") -> [String: Int] {
        guard let status = try? String(contentsOfFile: "/proc/\(process)/status", encoding: .utf8) else { return [:] }
        var found: [String: Int] = [:]
        for line in status.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            guard fields.contains(name), let kilobytes = Int(line[line.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") else { continue }
            found[name] = kilobytes * 1_024
        }
        return found
    }

    /// When the process started, in seconds since 1970: the boot time (`/proc/stat`'s `btime`) plus
    /// the start in clock ticks after boot (`stat` field 22).
    public static func startTimeSeconds(process: String = "self") -> Double? {
        guard let fields = statFields("/proc/\(process)/stat"), fields.count > 19, let ticks = Double(fields[19]),
              let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
              let boot = Double(line.dropFirst("btime ".count))
        else { return nil }
        return boot + ticks / clockTicksPerSecond
    }

    /// How many descriptors the process holds open (the entries of `/proc/<pid>/fd`).
    public static func openDescriptors(process: String = "self") -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(process)/fd")).map(\.count)
    }

    /// The most descriptors this process may open (its soft `RLIMIT_NOFILE`).
    public static func descriptorLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t.max else { return nil }  // RLIM_INFINITY is all ones
        return Int(clamping: limit.rlim_cur)
    }

    /// The memory limit of the process's control group — a container's limit under Kubernetes — or
    /// nil when there is none. cgroup v2 writes `max` for none; v1 writes a number near 2⁶³, so
    /// anything from 2⁶⁰ bytes on counts as none too.
    public static func memoryLimitBytes() -> Int? {
        for path in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
            guard let bytes = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes < 1 << 60 else { return nil }
            return bytes
        }
        return nil
    }

    /// The fields of a `stat` file after the command's closing parenthesis (the command may hold
    /// spaces): index 0 is the state (field 3 in proc(5)), so field N is at index N − 3.
    private static func statFields(_ path: String) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: path, encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 12 ? fields : nil
    }

    private static var clockTicksPerSecond: Double { Double(max(sysconf(Int32(_SC_CLK_TCK)), 1)) }
}
