import CoreMetrics
import Synchronization

/// The process's own figures at every scrape, under the names every Prometheus client library
/// uses for them (`process_resident_memory_bytes`, `process_cpu_seconds_total`, …), so dashboards
/// and rules written for other services read ours unchanged; plus the peak resident memory and the
/// control group's memory limit, which the alert on memory compares against.
///
/// Why sampled at the scrape: the kernel already counts all of it; reading a few small `/proc`
/// files (`status` once) when Prometheus asks costs nothing between scrapes and nothing on any
/// call's path.
enum ProcessMetrics {
    static func register(on metrics: ServiceMetrics) {
        let resident = metrics.gauge("process_resident_memory_bytes")
        let peak = metrics.gauge("crm_process_peak_resident_memory_bytes")
        let virtual = metrics.gauge("process_virtual_memory_bytes")
        // Made only where a control group sets a limit: a series made is exported (as 0 until set),
        // and a limit of 0 would read as "always over it".
        let limit = ProcessFigures.memoryLimitBytes().map { _ in metrics.gauge("crm_process_memory_limit_bytes") }
        let cpu = metrics.floatingPointCounter("process_cpu_seconds_total")
        let openDescriptors = metrics.gauge("process_open_fds")
        let maxDescriptors = metrics.gauge("process_max_fds")
        let start = metrics.gauge("process_start_time_seconds")
        // The counter only goes up by what was used since the last scrape.
        let cpuCounted = Mutex(0.0)
        metrics.onScrape {
            let memory = ProcessFigures.statusBytes(["VmRSS", "VmHWM", "VmSize"])
            if let bytes = memory["VmRSS"] { resident.record(bytes) }
            if let bytes = memory["VmHWM"] { peak.record(bytes) }
            if let bytes = memory["VmSize"] { virtual.record(bytes) }
            if let limit, let bytes = ProcessFigures.memoryLimitBytes() { limit.record(bytes) }
            if let count = ProcessFigures.openDescriptors() { openDescriptors.record(count) }
            if let count = ProcessFigures.descriptorLimit() { maxDescriptors.record(count) }
            if let seconds = ProcessFigures.startTimeSeconds() { start.record(seconds) }
            let used = ProcessFigures.cpuSeconds()
            let increase = cpuCounted.withLock { counted in
                defer { counted = max(counted, used) }
                return used - counted
            }
            if increase > 0 { cpu.increment(by: increase) }
        }
    }
}
