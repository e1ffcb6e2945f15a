"""The stockouts KPI against figures worked out by hand, for March 2026."""

from datetime import date
from decimal import Decimal

from clinicdesk.core.tests.factories import DepartmentFactory
from clinicdesk.goals.kpis import registry
from clinicdesk.goals.kpis.registry import Scope
from clinicdesk.inventory.services.stock import stock_consume, stock_receive
from clinicdesk.inventory.tests.factories import ItemFactory, StockLevelFactory, StockLocationFactory

D = Decimal
START, END = date(2026, 3, 1), date(2026, 3, 31)


def test_stockouts_count_each_time_a_par_level_item_runs_out_in_a_location(org):
    # given: gloves (par 10) in the nursing room; swabs (no par level) there too; gloves (par 10) in the lab
    nursing = StockLocationFactory(organization=org, department=DepartmentFactory(organization=org, name="Nursing"))
    lab = StockLocationFactory(organization=org, department=DepartmentFactory(organization=org, name="Lab"))
    gloves = ItemFactory(organization=org)
    swabs = ItemFactory(organization=org)
    StockLevelFactory(item=gloves, stock_location=nursing, par_level=D(10), reorder_point=D(2))
    StockLevelFactory(item=gloves, stock_location=lab, par_level=D(10), reorder_point=D(2))

    def receive(item, place, qty, day):
        stock_receive(item=item, stock_location=place, quantity=D(qty), actor=None, received_on=day)

    def use(item, place, qty, day):
        stock_consume(item=item, stock_location=place, quantity=D(qty), actor=None, used_on=day)

    # Feb 27: nursing gloves 5 → 0 (a stockout, but in February)
    receive(gloves, nursing, 5, date(2026, 2, 20))
    use(gloves, nursing, 5, date(2026, 2, 27))
    # Mar 3: restocked to 4; Mar 5: 4 → 1 (not out); Mar 9: 1 → 0 (stockout 1)
    receive(gloves, nursing, 4, date(2026, 3, 3))
    use(gloves, nursing, 3, date(2026, 3, 5))
    use(gloves, nursing, 1, date(2026, 3, 9))
    # Mar 12: restocked to 2; Mar 20: 2 → 0 (stockout 2)
    receive(gloves, nursing, 2, date(2026, 3, 12))
    use(gloves, nursing, 2, date(2026, 3, 20))
    # Mar 15: lab gloves 3 → 0 (stockout 3, Lab department)
    receive(gloves, lab, 3, date(2026, 3, 1))
    use(gloves, lab, 3, date(2026, 3, 15))
    # Mar 18: swabs 1 → 0 in nursing: no par level, not counted
    receive(swabs, nursing, 1, date(2026, 3, 1))
    use(swabs, nursing, 1, date(2026, 3, 18))

    kpi = registry.get("stockouts")
    # when / then: 3 in March over the practice; 2 in Nursing, 1 in the Lab; 1 in the first ten days of March
    assert kpi.compute(org.pk, START, END, Scope()).value == 3
    assert kpi.compute(org.pk, START, END, Scope(department_id=nursing.department_id)).value == 2
    assert kpi.compute(org.pk, START, END, Scope(department_id=lab.department_id)).value == 1
    assert kpi.compute(org.pk, START, date(2026, 3, 10), Scope()).value == 1
    assert kpi.compute(org.pk, date(2026, 2, 1), date(2026, 2, 28), Scope()).value == 1
    rows = kpi.rows(org.pk, START, END, Scope())
    assert [kpi_cells[0] for kpi_cells in map(rows.cells, rows.items)] == [
        date(2026, 3, 9), date(2026, 3, 15), date(2026, 3, 20)]
