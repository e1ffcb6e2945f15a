"""Report figures against the hand-worked day in day_world.py."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from clinicdesk.billing.selectors.reports import (
    card_settlement,
    charges_vs_payments,
    collections,
    day_sheet,
    deposit_report,
)
from clinicdesk.billing.services.dayclose import day_close_close
from clinicdesk.billing.services.payments import payment_void

from .day_world import COUNT_SHORT, DAY, NOON, fake_cards_fixture, hand_day_fixture, post_encounter  # noqa: F401

D = Decimal


def test_deposit_report_by_method_and_by_user(hand_day):
    with freeze_time(NOON):
        day_close_close(drawer=hand_day.drawer, business_date=DAY, denominations=COUNT_SHORT, actor=hand_day.dee,
                        over_short_reason="Short")
    report = deposit_report(user=hand_day.manager, start=DAY, end=DAY)
    by_method = {r["method"]: (r["count"], r["amount"], r["refunds"], r["net"]) for r in report.by_method}
    assert by_method == {"cash": (2, D("90.00"), D("15.00"), D("75.00")), "check": (1, D("60.00"), D("0.00"), D("60.00")),
                         "card": (1, D("100.00"), D("0.00"), D("100.00"))}
    assert (report.total_payments, report.total_refunds, report.net) == (D("250.00"), D("15.00"), D("235.00"))
    assert [(r["user"], r["method"], r["count"], r["amount"]) for r in report.by_user] == [
        ("Dee Desk", "Cash", 1, D("50.00")), ("Dee Desk", "Check", 1, D("60.00")),
        ("Eli Front", "Card", 1, D("100.00")), ("Eli Front", "Cash", 1, D("40.00"))]
    assert [d.total for d in report.deposits] == [D("134.75")]
    assert deposit_report(user=hand_day.manager, start=date(2026, 11, 21), end=date(2026, 11, 30)).total_payments == 0


def test_day_sheet_lists_every_posting_with_totals(hand_day):
    sheet = day_sheet(user=hand_day.manager, on=DAY, location=hand_day.location)
    assert [(c["patient"], c["code"], c["provider"], c["department"], c["diagnoses"], c["amount"]) for c in sheet.charges] == [
        ("PatientA, A", "99213", "Ann Ames", "Family medicine", "I10", D("120.00")),
        ("PatientB, B", "80053", "Bo Baker", "Laboratory", "Z00.00", D("45.00")),
        ("PatientB, B", "36415", "Bo Baker", "Laboratory", "Z00.00", D("15.00")),
        ("PatientC, C", "99214", "Ann Ames", "Family medicine", "E11.9", D("180.00")),
    ]
    assert [(p["method"], p["detail"], p["amount"]) for p in sheet.payments] == [
        ("Cash", "", D("50.00")), ("Check", "Check 1001", D("60.00")), ("Card", "Visa 4242", D("100.00")),
        ("Cash", "", D("40.00"))]
    assert [(a["kind"], a["code"], a["amount"]) for a in sheet.adjustments] == [("Courtesy discount", "99214", D("20.00"))]
    assert [(r["method"], r["amount"]) for r in sheet.refunds] == [("Cash from the drawer", D("15.00"))]
    assert (sheet.total_charges, sheet.total_payments, sheet.total_adjustments, sheet.total_refunds) == (
        D("360.00"), D("250.00"), D("20.00"), D("15.00"))
    assert sheet.net_change == D("105.00")
    assert sheet.patient_ids == {p.pk for p in hand_day.patients.values()}


def test_a_voided_payment_is_listed_but_not_counted(hand_day):
    with freeze_time(NOON):
        payment_void(payment=hand_day.payments["A"], reason="Wrong patient", actor=hand_day.manager)
    sheet = day_sheet(user=hand_day.manager, on=DAY, location=hand_day.location)
    assert len(sheet.payments) == 4 and sheet.payments[0]["voided"] and sheet.total_payments == D("200.00")
    assert collections(user=hand_day.manager, start=DAY, end=DAY).total_payments == D("160.00")
    assert charges_vs_payments(user=hand_day.manager, start=DAY, end=DAY)[0]["payments"] == D("200.00")


def test_collections_by_provider_and_by_department(hand_day):
    by_provider = collections(user=hand_day.manager, start=DAY, end=DAY, by="provider")
    assert [(r["name"], r["payments"], r["credit_applied"]) for r in by_provider.rows] == [
        ("Ann Ames", D("150.00"), D("0.00")), ("Bo Baker", D("60.00"), D("0.00"))]
    assert (by_provider.total, by_provider.unapplied) == (D("210.00"), D("40.00"))
    by_department = collections(user=hand_day.manager, start=DAY, end=DAY, by="department")
    assert [(r["name"], r["total"]) for r in by_department.rows] == [
        ("Family medicine", D("150.00")), ("Laboratory", D("60.00"))]
    with pytest.raises(ValidationError):
        collections(user=hand_day.manager, start=DAY, end=DAY, by="room")


def test_credit_applied_to_later_charges_counts_as_credit_applied(hand_day):
    # D's remaining credit of 25.00 is applied when D's visit is posted the next day
    with freeze_time("2026-11-21 17:00:00"):
        post_encounter(patient=hand_day.patients["D"], provider=hand_day.baker, location=hand_day.location,
                       department=hand_day.lab, on=date(2026, 11, 21), services=[("36415", "15.00")],
                       actor=hand_day.manager)
    next_day = collections(user=hand_day.manager, start=date(2026, 11, 21), end=date(2026, 11, 21))
    assert [(r["name"], r["payments"], r["credit_applied"]) for r in next_day.rows] == [("Bo Baker", D("0.00"), D("15.00"))]
    assert next_day.unapplied == D("0.00")


def test_charges_against_payments_by_month(hand_day):
    months = charges_vs_payments(user=hand_day.manager, start=date(2026, 10, 1), end=date(2026, 11, 30))
    assert months == [
        {"month": date(2026, 10, 1), "charges": D("0.00"), "payments": D("0.00"), "adjustments": D("0.00")},
        {"month": date(2026, 11, 1), "charges": D("360.00"), "payments": D("250.00"), "adjustments": D("20.00")},
    ]


def test_card_settlement_by_brand(hand_day):
    assert card_settlement(user=hand_day.manager, on=DAY) == [
        {"brand": "Visa", "count": 1, "amount": D("100.00"), "refunds": D("0.00"), "net": D("100.00")}]


def test_reports_are_scoped_to_the_organization(hand_day, make_user, other_org):
    from clinicdesk.core.choices import Role

    stranger = make_user(Role.OFFICE_MANAGER, organization=other_org)
    assert deposit_report(user=stranger, start=DAY, end=DAY).total_payments == 0
    assert collections(user=stranger, start=DAY, end=DAY).rows == []
    assert card_settlement(user=stranger, on=DAY) == []
    with pytest.raises(ValidationError):
        day_sheet(user=stranger, on=DAY, location=hand_day.location)


def test_report_queries_do_not_grow_with_rows(hand_day):
    def count(fn):
        with CaptureQueriesContext(connection) as ctx:
            fn()
        return len(ctx.captured_queries)

    def run_all():
        deposit_report(user=hand_day.manager, start=DAY, end=DAY)
        day_sheet(user=hand_day.manager, on=DAY, location=hand_day.location)
        collections(user=hand_day.manager, start=DAY, end=DAY)
        charges_vs_payments(user=hand_day.manager, start=DAY, end=DAY)

    before = count(run_all)
    with freeze_time(NOON):
        for _ in range(3):
            post_encounter(patient=hand_day.patients["D"], provider=hand_day.ames, location=hand_day.location,
                           department=hand_day.family, on=DAY, services=[("99212", "70.00"), ("36415", "15.00")],
                           actor=hand_day.manager)
    assert count(run_all) == before
