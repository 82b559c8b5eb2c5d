import CRMProtos

/// Between the domain's values and the wire's messages. Pure.
extension CalendarDay {
    /// The day a wire date names, or nil when it is absent or not a real date.
    init?(_ date: Crm_Common_V1_Date) {
        self.init(year: Int(date.year), month: Int(date.month), day: Int(date.day))
    }

    var wire: Crm_Common_V1_Date { Crm_Common_V1_Date(self) }
}

extension IncomeSource {
    var wire: Crm_Compensation_V1_IncomeSource {
        switch self {
        case .cashCommission: return .cashCommission
        case .marginCommission: return .marginCommission
        case .marginInterest: return .marginInterest
        case .productRebate: return .productRebate
        case .advisoryFee: return .advisoryFee
        }
    }

    /// The source stored as `income_item.source`.
    init?(index: Int) {
        guard IncomeSource.allCases.indices.contains(index) else { return nil }
        self = IncomeSource.allCases[index]
    }
}

extension RuleVersion {
    var wire: Crm_Compensation_V1_RuleVersion {
        .with {
            $0.grade = grade
            $0.version = UInt32(clamping: version)
        }
    }
}

extension SourceTotal {
    var wire: Crm_Compensation_V1_SourceTotal {
        .with {
            $0.source = source.wire
            $0.itemCount = UInt32(clamping: itemCount)
            $0.incomeFen = incomeFen
            $0.payFen = payFen ?? 0
        }
    }
}

extension CompensationScheme {
    /// The domain scheme of a wire scheme (dates must have been checked).
    init(wire scheme: Crm_Compensation_V1_Scheme, version: Int) {
        self.init(
            grade: scheme.grade, version: version,
            effectiveFrom: CalendarDay(scheme.effectiveFrom) ?? CalendarDay(daysSince1970: 0),
            effectiveUntil: scheme.hasEffectiveUntil ? CalendarDay(scheme.effectiveUntil) : nil,
            commissionTiers: scheme.commissionTiers.map {
                CommissionTier(lowerFen: $0.lowerFen, upperFen: $0.upperFen == 0 ? nil : $0.upperFen, rate: BasisPoints(Int($0.rateBp)))
            },
            rates: SourceRates(
                marginInterest: BasisPoints(Int(scheme.rates.marginInterestBp)),
                productRebate: BasisPoints(Int(scheme.rates.productRebateBp)),
                advisoryFee: BasisPoints(Int(scheme.rates.advisoryFeeBp))
            ),
            deductedCosts: scheme.deductedCosts
        )
    }
}

extension ManagerStatement {
    /// The statement's header: everything but the lines.
    func wireHeader(branchID: String, teamID: String, settledAtMillis: Int64) -> Crm_Compensation_V1_Statement {
        .with {
            $0.managerID = managerID
            $0.month = month.description
            $0.grade = grade
            $0.branchID = branchID
            $0.teamID = teamID
            $0.ruleVersion = ruleVersion.wire
            $0.throughSequence = UInt64(clamping: throughSequence)
            $0.settledAt = .with { $0.unixMillis = settledAtMillis }
            $0.sourceTotals = sourceTotals.map(\.wire)
            $0.netCommissionFen = netCommissionFen
            $0.commissionBands = commissionBands.map { band in
                .with {
                    $0.tierIndex = UInt32(clamping: band.tierIndex)
                    $0.lowerFen = band.lowerFen
                    $0.upperFen = band.upperFen ?? 0
                    $0.rateBp = UInt32(clamping: band.rate.value)
                    $0.portionFen = band.portionFen
                    $0.payFen = band.payFen
                    $0.ruleVersion = band.ruleVersion.wire
                }
            }
            $0.commissionPayFen = commissionPayFen
            $0.subtotalFen = subtotalFen
            $0.coefficientLines = coefficientLines.map { line in
                .with {
                    $0.kind = line.kind == .assessment ? .assessment : .compliance
                    $0.coefficient = line.coefficient.description
                    $0.baseFen = line.baseFen
                    $0.amountFen = line.amountFen
                }
            }
            $0.totalFen = totalFen
            $0.lineCount = UInt32(clamping: incomeLines.count)
            $0.adjustmentCount = UInt32(clamping: incomeLines.lazy.filter(\.isAdjustment).count)
        }
    }
}

extension IncomeLine {
    var wire: Crm_Compensation_V1_StatementLine {
        var line = Crm_Compensation_V1_StatementLine()
        line.sourceEventID = sourceEventID
        line.customerID = customerID
        line.day = day.wire
        line.source = source.wire
        line.originalMonth = originalMonth.description
        line.carriedForward = isCarriedForward
        line.adjustment = isAdjustment
        line.ruleVersion = ruleVersion.wire
        line.incomeFen = incomeFen
        line.rateBp = rate.map { UInt32(clamping: $0.value) } ?? 0
        line.payFen = payFen ?? 0
        switch basis {
        case let .trade(account, commission, exchange, regulatory, listed):
            line.trade = .with {
                $0.margin = account == .margin
                $0.commissionFen = commission
                $0.exchangeAndRegulatoryFeesFen = Fen.sum(exchange, regulatory)
                $0.listedCostsFen = listed
            }
        case .marginInterest:
            break
        case let .productSale(code, amount, rate):
            line.productSale = .with {
                $0.productCode = code
                $0.saleAmountFen = amount
                $0.productRebateBp = UInt32(clamping: rate.value)
                if let named = namedManagerID { $0.namedManagerID = named }
            }
        case let .advisoryFee(packageID):
            line.advisoryFee = .with { $0.packageCode = packageID }
        }
        return line
    }
}

extension AssessmentFigures {
    var wire: Crm_Compensation_V1_AssessmentFigures {
        .with {
            $0.customersAtMonthEnd = UInt32(clamping: customersAtMonthEnd)
            $0.monthEndAssetsFen = monthEndAssetsFen
            $0.averageAssetsFen = averageAssetsFen ?? 0
            $0.averageKnown = averageAssetsFen != nil
            $0.newCustomers = UInt32(clamping: newCustomers)
            $0.effectiveAccounts = UInt32(clamping: effectiveAccounts)
            $0.netNewAssetsFen = netNewAssetsFen
            $0.productSalesFen = productSalesFen
            $0.commissionContributedFen = commissionContributedFen
        }
    }
}

extension AssessmentMetric {
    init?(wire: Crm_Compensation_V1_AssessmentMetric) {
        switch wire {
        case .customersAtMonthEnd: self = .customersAtMonthEnd
        case .monthEndAssets: self = .monthEndAssets
        case .averageAssets: self = .averageAssets
        case .newCustomers: self = .newCustomers
        case .effectiveAccounts: self = .effectiveAccounts
        case .netNewAssets: self = .netNewAssets
        case .productSales: self = .productSales
        case .commissionContributed: self = .commissionContributed
        default: return nil
        }
    }

    var wire: Crm_Compensation_V1_AssessmentMetric {
        switch self {
        case .customersAtMonthEnd: return .customersAtMonthEnd
        case .monthEndAssets: return .monthEndAssets
        case .averageAssets: return .averageAssets
        case .newCustomers: return .newCustomers
        case .effectiveAccounts: return .effectiveAccounts
        case .netNewAssets: return .netNewAssets
        case .productSales: return .productSales
        case .commissionContributed: return .commissionContributed
        }
    }
}
