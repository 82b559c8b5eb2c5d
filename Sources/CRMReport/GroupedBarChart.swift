/// A vertical grouped bar chart as one `<svg>` element: for each group (a k, a campaign) one bar per
/// series (model, random, richest; hit rate, baseline) side by side, a legend, a value axis with
/// gridlines, and each bar's value written above it.
public struct GroupedBarChart: Sendable, Equatable {
    public struct Series: Sendable, Equatable {
        public var name: String
        public var color: String

        public init(_ name: String, color: String) {
            self.name = name
            self.color = color
        }
    }

    public struct Group: Sendable, Equatable {
        public var label: String
        /// One per series, in the series' order (missing ones draw nothing).
        public var values: [Double]

        public init(_ label: String, _ values: [Double]) {
            self.label = label
            self.values = values
        }
    }

    public var id: String
    public var title: String
    public var series: [Series]
    public var groups: [Group]
    public var kind: ValueKind
    public var width: Double
    public var height: Double

    static let top = 52.0
    static let bottomMargin = 34.0
    static let axisWidth = 52.0
    static let rightMargin = 8.0
    static let maximumBarWidth = 46.0

    public init(id: String, title: String, series: [Series], groups: [Group], kind: ValueKind = .percent, width: Double = 540, height: Double = 280) {
        self.id = Markup.identifier(id)
        self.title = title
        self.series = series
        self.groups = groups
        self.kind = kind
        self.width = width
        self.height = height
    }

    var plotWidth: Double { max(40, width - Self.axisWidth - Self.rightMargin) }
    var plotHeight: Double { max(40, height - Self.top - Self.bottomMargin) }
    var scale: ChartScale { ChartScale(dataMaximum: groups.flatMap(\.values).max() ?? 0) }

    /// Each drawn bar: its group, series, x, width and height (zero-height bars are still listed).
    public struct Placement: Sendable, Equatable {
        public var group: Int
        public var series: Int
        public var x: Double
        public var width: Double
        public var height: Double
    }

    public var placements: [Placement] {
        guard !groups.isEmpty, !series.isEmpty else { return [] }
        let groupWidth = plotWidth / Double(groups.count)
        let barWidth = min(Self.maximumBarWidth, groupWidth * 0.8 / Double(series.count))
        let scale = self.scale
        var result: [Placement] = []
        for (groupIndex, group) in groups.enumerated() {
            let start = Self.axisWidth + groupWidth * Double(groupIndex) + (groupWidth - barWidth * Double(series.count)) / 2
            for seriesIndex in series.indices where seriesIndex < group.values.count {
                result.append(Placement(
                    group: groupIndex, series: seriesIndex, x: start + barWidth * Double(seriesIndex), width: barWidth,
                    height: scale.position(of: group.values[seriesIndex], length: plotHeight)
                ))
            }
        }
        return result
    }

    public func svg() -> String {
        let scale = self.scale, bottom = Self.top + plotHeight
        var out = SVGOpening.element(id: id, title: title, width: width, height: height)
        var legendX = Self.axisWidth
        for item in series {
            out += "<rect class=\"legend\" x=\"\(Markup.number(legendX))\" y=\"26\" width=\"11\" height=\"11\" fill=\"\(Markup.escape(item.color))\"/>"
            out += "<text class=\"legend-text\" x=\"\(Markup.number(legendX + 15))\" y=\"35\">\(Markup.escape(item.name))</text>"
            legendX += 15 + Double(DisplayWidth.of(item.name)) * HorizontalBarChart.pixelsPerColumn + 18
        }
        for tick in scale.ticks {
            let y = bottom - scale.position(of: tick, length: plotHeight)
            out += "<line class=\"grid\" x1=\"\(Markup.number(Self.axisWidth))\" y1=\"\(Markup.number(y))\" x2=\"\(Markup.number(Self.axisWidth + plotWidth))\" y2=\"\(Markup.number(y))\"/>"
            out += "<text class=\"tick\" x=\"\(Markup.number(Self.axisWidth - 6))\" y=\"\(Markup.number(y + 4))\" text-anchor=\"end\">\(Markup.escape(kind.tickLabel(tick)))</text>"
        }
        if groups.isEmpty {
            out += "<text class=\"empty\" x=\"\(Markup.number(Self.axisWidth + 8))\" y=\"\(Markup.number(bottom - 8))\">no data</text>"
        }
        let groupWidth = groups.isEmpty ? plotWidth : plotWidth / Double(groups.count)
        for (index, group) in groups.enumerated() {
            let centre = Self.axisWidth + groupWidth * (Double(index) + 0.5)
            let label = DisplayWidth.truncate(group.label, to: max(4, Int(groupWidth / HorizontalBarChart.pixelsPerColumn) - 1))
            out += "<text class=\"label\" x=\"\(Markup.number(centre))\" y=\"\(Markup.number(bottom + 18))\" text-anchor=\"middle\">\(Markup.escape(label))</text>"
        }
        for placement in placements {
            let item = series[placement.series], group = groups[placement.group]
            let value = group.values[placement.series]
            let text = kind.valueLabel(value)
            out += "<rect class=\"bar\" x=\"\(Markup.number(placement.x))\" y=\"\(Markup.number(bottom - placement.height))\" width=\"\(Markup.number(placement.width - 2))\" "
                + "height=\"\(Markup.number(placement.height))\" fill=\"\(Markup.escape(item.color))\">"
                + "<title>\(Markup.escape(group.label)) · \(Markup.escape(item.name)): \(Markup.escape(text))</title></rect>"
            out += "<text class=\"bar-value\" x=\"\(Markup.number(placement.x + (placement.width - 2) / 2))\" y=\"\(Markup.number(bottom - placement.height - 4))\" "
                + "text-anchor=\"middle\">\(Markup.escape(text))</text>"
        }
        return out + "</svg>"
    }
}

extension ValueKind {
    /// The label written on a bar: a little more precise than a tick.
    public func valueLabel(_ value: Double) -> String {
        switch self {
        case .count: return value == value.rounded() ? Format.count(Int64(value)) : Format.decimal(value, places: 1)
        case .money: return Format.money(fen: Int64(value.rounded()))
        case .percent: return Format.percent(value, places: 1)
        }
    }
}
