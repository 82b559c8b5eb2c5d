/// # CRMReport
///
/// What the operator's tool shows people, as pure functions of plain figures: the head-office
/// report as one self-contained HTML page with inline SVG charts (``HTMLReport``, ``HorizontalBarChart``,
/// ``GroupedBarChart``), aligned terminal tables for the demo walkthrough (``TextTable``, which counts
/// Chinese characters as two columns), and the formatting of money, counts and rates (``Format``).
///
/// Nothing here does I/O or knows the services: `crmctl` gathers the figures over RPC and hands
/// them in, so every chart and table is tested from fixed figures.
public enum CRMReportModule {}
