import CRMProtos
import CRMWorld
import Testing

/// Every generated message passes the rules the services check before storing it.
@Suite struct ValidationTests {
    let world = WorldFixture.world
    var today: Int32 { world.configuration.today }

    @Test func customersAndAssessmentsAreValid() throws {
        for customer in WorldFixture.customers {
            #expect(ServiceRules.customer(customer.record).isEmpty, "\(customer.id): \(ServiceRules.customer(customer.record))")
            #expect(ServiceRules.customer(customer.creation.customer).isEmpty, "\(customer.id) creation")
            #expect(customer.record.customerID == customer.id && customer.creation.customer.customerID == customer.id)
            for request in customer.assessments {
                #expect(request.customerID == customer.id)
                let problems = try ServiceRules.assessment(request.assessment, today: today)
                #expect(problems.isEmpty, "\(customer.id): \(problems)")
                #expect(WorldFixture.day(request.assessment.assessedOn) <= today)
            }
        }
    }

    @Test func statusHistoriesFollowTheAllowedChanges() {
        for customer in WorldFixture.customers {
            var status = customer.creation.customer.status
            var lastDay = Int32.min
            for change in customer.statusChanges {
                #expect(ServiceRules.isAllowed(from: status, to: change.newStatus),
                        "\(customer.id): \(status) → \(change.newStatus)")
                #expect(change.hasEffectiveDate && change.effectiveDate.isValid && !change.reason.isEmpty)
                let day = WorldFixture.day(change.effectiveDate)
                #expect(day >= lastDay && day <= today, "\(customer.id): changes out of order")
                lastDay = day
                status = change.newStatus
            }
            #expect(status == customer.record.status, "\(customer.id): history ends in \(status), record says \(customer.record.status)")
            // Opening a prospect's account is the (only) change to apply before the events.
            #expect(customer.statusChangesBeforeEvents <= 1)
            if customer.statusChangesBeforeEvents == 1 { #expect(customer.statusChanges[0].newStatus == .normal) }
        }
    }

    @Test func eventsPassIngestionValidation() {
        for customer in WorldFixture.customers {
            let events = customer.events
            var problems: [String] = []
            for event in events.trades { problems += ServiceRules.trade(event) }
            for event in events.fundTransfers { problems += ServiceRules.transfer(event) }
            for event in events.dailyPositions { problems += ServiceRules.position(event) }
            for event in events.marginAccounts { problems += ServiceRules.margin(event) }
            for event in events.marginInterest { problems += ServiceRules.interest(event) }
            for event in events.serviceContacts { problems += ServiceRules.contact(event) }
            for event in events.productViews { problems += ServiceRules.view(event) }
            #expect(problems.isEmpty, "\(customer.id): \(Set(problems))")
            let ids = events.trades.map(\.customerID) + events.dailyPositions.map(\.customerID) + events.productViews.map(\.customerID)
            #expect(ids.allSatisfy { $0 == customer.id })
        }
    }

    /// The profiles service refuses trades of accounts that are not NORMAL: every trade happened
    /// while the account was normal, so loading events before the later status changes works.
    @Test func tradesHappenOnlyWhileTheAccountIsNormal() {
        for customer in WorldFixture.customers where !customer.events.trades.isEmpty {
            var segments: [(from: Int32, status: Crm_Profiles_V1_AccountStatus)] = []
            segments.append((customer.record.hasOpenDate ? WorldFixture.day(customer.record.openDate) : .min, customer.creation.customer.status))
            for change in customer.statusChanges { segments.append((WorldFixture.day(change.effectiveDate), change.newStatus)) }
            for trade in customer.events.trades {
                let day = WorldDays.day(ofMillis: trade.tradedAt.unixMillis)
                let status = segments.last { $0.from <= day }?.status
                #expect(status == .normal, "\(customer.id) traded on day \(day) while \(String(describing: status))")
            }
        }
    }

    @Test func positionsAreConsistent() {
        for customer in WorldFixture.customers {
            var days = Set<Int32>()
            for position in customer.events.dailyPositions {
                // One snapshot a day, each trading day a weekday, within the span.
                let day = WorldFixture.day(position.tradingDay)
                #expect(days.insert(day).inserted, "\(customer.id): two positions on \(position.tradingDay.isoString)")
                #expect(day >= world.calendar.spanStart && day <= world.calendar.spanEnd)
                #expect(Set(position.products.map(\.productCode)).count == position.products.count)
                for product in position.products {
                    #expect(world.product(code: product.productCode)?.family.productTypeName == product.productType)
                }
            }
        }
    }

    @Test func productsTemplatesAndManagersAreValid() {
        for product in world.products {
            #expect(ServiceRules.product(product.record).isEmpty, "\(product.code): \(ServiceRules.product(product.record))")
            #expect(ServiceRules.template(product.contractTemplate).isEmpty, "\(product.code) template")
            #expect(product.contractTemplate.productCode == product.code)
            #expect(product.popularity > 0)
        }
        #expect(Set(world.products.map(\.code)).count == world.products.count)
        for manager in world.organisation.managers {
            #expect(ServiceRules.manager(manager.record).isEmpty, "\(manager.id)")
        }
    }

    @Test func productsOnSaleCoverTheYearAndTheirLaunchAndToday() {
        let todayDate = WorldDays.date(today)
        for product in world.products {
            let window = product.record.salesWindow
            switch product.record.status {
            case .onSale:
                let first = product.firstPurchaseMonth ?? -1
                #expect(first >= 0, "\(product.code) is on sale but never purchasable")
                let launch = world.calendar.month(purchaseMonth: max(0, first)).firstDay
                #expect(window.hasStart && WorldFixture.day(window.start) <= launch)
                #expect(!window.hasEnd || window.end.isoString >= todayDate.isoString, "\(product.code) on sale but its window has ended")
            default:
                #expect(product.firstPurchaseMonth == nil, "\(product.code) is \(product.record.status) but purchasable")
            }
        }
    }

    @Test func ordersAreValidSalesOfProductsOnSale() {
        var count = 0
        for customer in WorldFixture.customers {
            for purchase in customer.purchases {
                count += 1
                let order = purchase.order
                #expect(ServiceRules.order(order).isEmpty, "\(order.orderID): \(ServiceRules.order(order))")
                #expect(order.customerID == customer.id && order.side == .subscription)
                let product = world.products[purchase.productIndex]
                #expect(order.productCode == product.code && product.family == purchase.family)
                let day = WorldDays.day(ofMillis: order.acceptedAt.unixMillis)
                #expect(day == purchase.day)
                #expect(ServiceRules.sale(order, of: product.record, on: WorldDays.date(day)).isEmpty,
                        "\(order.orderID): \(ServiceRules.sale(order, of: product.record, on: WorldDays.date(day)))")
                // The services decide with today's date: the window must still be open.
                #expect(ServiceRules.sale(order, of: product.record, on: WorldDays.date(today)).isEmpty)
                let month = world.calendar.month(purchaseMonth: purchase.month)
                #expect(day >= month.firstDay && day <= month.lastDay)
                if !order.managerID.isEmpty {
                    #expect(customer.assignments.contains { $0.managerID == order.managerID && $0.covers(day) })
                }
            }
        }
        #expect(count > 300)
        let ids = WorldFixture.customers.flatMap { $0.purchases.map(\.order.orderID) }
        #expect(Set(ids).count == ids.count)
    }
}

extension ValidationTests {
    /// Each kind of event comes in time order, as a loader would replay it.
    @Test func eventsComeInTimeOrder() {
        func ordered(_ values: [Int64]) -> Bool { zip(values, values.dropFirst()).allSatisfy { $0 <= $1 } }
        for customer in WorldFixture.customers {
            let events = customer.events
            #expect(ordered(events.trades.map(\.tradedAt.unixMillis)), "\(customer.id) trades")
            #expect(ordered(events.fundTransfers.map(\.transferredAt.unixMillis)), "\(customer.id) transfers")
            #expect(ordered(events.dailyPositions.map { Int64(WorldFixture.day($0.tradingDay)) }), "\(customer.id) positions")
            #expect(ordered(events.serviceContacts.map(\.contactedAt.unixMillis)), "\(customer.id) contacts")
            #expect(ordered(events.productViews.map(\.viewedAt.unixMillis)), "\(customer.id) views")
            #expect(ordered(customer.purchases.map(\.order.acceptedAt.unixMillis)), "\(customer.id) purchases")
        }
    }
}
