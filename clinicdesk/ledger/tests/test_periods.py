"""Closed months: the service and the database refuse entries dated in them, naming the date; reopening needs a
reason and is audited; the page closes and reopens for the roles that may."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.models import Account, FiscalPeriod, JournalEntry
from clinicdesk.ledger.periods import period_close, period_list, period_reopen
from clinicdesk.ledger.services import EntrySpec, LineSpec, chart_install, entries_post, entry_post

D = Decimal
TODAY = timezone.localdate()
LAST_MONTH = (TODAY.replace(day=1) - timezone.timedelta(days=1)).replace(day=1)
IN_LAST_MONTH = LAST_MONTH.replace(day=15)


def cash_sale(org, day, amount="10.00", reference=""):
    return entry_post(organization=org, entry_date=day, kind=EntryKind.MANUAL, reference=reference, memo="Sale", lines=[
        LineSpec(account=AccountRole.CASH, amount=D(amount)),
        LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-D(amount)),
    ])


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMINISTRATOR, username="admin-periods")


def test_a_closed_month_refuses_entries_naming_the_date_and_others_post(org, admin):
    # given
    cash_sale(org, IN_LAST_MONTH)
    period_close(organization=org, month=IN_LAST_MONTH, actor=admin)
    # when / then
    with pytest.raises(ValidationError) as refused:
        cash_sale(org, IN_LAST_MONTH, "20.00")
    assert f"{IN_LAST_MONTH:%m/%d/%Y}" in str(refused.value) and "closed" in str(refused.value)
    assert "entry_date" in refused.value.message_dict
    assert JournalEntry.objects.filter(organization=org).count() == 1
    cash_sale(org, TODAY, "20.00")  # the open month takes the correction
    assert JournalEntry.objects.filter(organization=org).count() == 2


def test_a_batch_with_one_entry_in_a_closed_month_saves_nothing_even_with_references(org, admin):
    period_close(organization=org, month=LAST_MONTH, actor=admin)
    specs = [EntrySpec(entry_date=day, kind=EntryKind.MANUAL, reference=f"ref-{n}", lines=[
        LineSpec(account=AccountRole.CASH, amount=D("5.00")), LineSpec(account=AccountRole.SERVICE_REVENUE, amount=D("-5.00")),
    ]) for n, day in enumerate([TODAY, IN_LAST_MONTH])]
    with pytest.raises(ValidationError, match=f"{IN_LAST_MONTH:%m/%d/%Y}"):
        entries_post(organization=org, entries=specs)
    assert not JournalEntry.objects.filter(organization=org).exists()


def test_other_practices_closed_month_does_not_touch_this_one(org, other_org, admin, make_user):
    period_close(organization=other_org, month=LAST_MONTH, actor=make_user(Role.ADMINISTRATOR, organization=other_org,
                                                                          username="admin-other"))
    cash_sale(org, IN_LAST_MONTH)


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_an_entry_in_a_closed_month_written_around_the_service(org, admin):
    chart_install(organization=org)
    period_close(organization=org, month=LAST_MONTH, actor=admin)
    with pytest.raises(DatabaseError), transaction.atomic():
        JournalEntry.objects.create(organization=org, entry_date=IN_LAST_MONTH, kind=EntryKind.MANUAL)
    JournalEntry.objects.create(organization=org, entry_date=TODAY, kind=EntryKind.MANUAL)  # unposted, allowed
    # bulk inserts too
    with pytest.raises(DatabaseError), transaction.atomic():
        JournalEntry.objects.bulk_create([JournalEntry(organization=org, entry_date=d, kind=EntryKind.MANUAL)
                                          for d in (TODAY, LAST_MONTH)])


def test_reopening_needs_a_reason_is_audited_and_lets_entries_in(org, admin):
    period_close(organization=org, month=LAST_MONTH, actor=admin)
    with pytest.raises(ValidationError) as no_reason:
        period_reopen(organization=org, month=LAST_MONTH, reason="  ", actor=admin)
    assert "reason" in no_reason.value.message_dict
    period = period_reopen(organization=org, month=LAST_MONTH, reason="Late vendor bill", actor=admin)
    assert not period.is_closed and period.reopen_reason == "Late vendor bill"
    cash_sale(org, IN_LAST_MONTH)
    actions = list(AuditEvent.objects.filter(action__startswith="ledger.period_").values_list("action", "summary"))
    assert ("ledger.period_closed", f"Books closed for {LAST_MONTH:%B %Y}") in actions
    assert ("ledger.period_reopened", f"Books reopened for {LAST_MONTH:%B %Y}: Late vendor bill") in actions


def test_only_ended_months_close_once_and_only_closed_months_reopen(org, admin):
    with pytest.raises(ValidationError, match="has not ended"):
        period_close(organization=org, month=TODAY, actor=admin)
    period_close(organization=org, month=LAST_MONTH, actor=admin)
    with pytest.raises(ValidationError, match="already closed"):
        period_close(organization=org, month=IN_LAST_MONTH, actor=admin)
    with pytest.raises(ValidationError, match="is not closed"):
        period_reopen(organization=org, month=date(2020, 1, 1), reason="x", actor=admin)


def test_the_list_shows_this_month_and_the_twelve_before(org, admin):
    period_close(organization=org, month=LAST_MONTH, actor=admin)
    rows = period_list(user=admin)
    assert len(rows) == 13 and rows[0].month == TODAY.replace(day=1)
    assert [r.month for r in rows if r.is_closed] == [LAST_MONTH]


@pytest.mark.parametrize("role, may_view, may_close", [
    (Role.FRONT_DESK, False, False), (Role.BILLER, True, False), (Role.OFFICE_MANAGER, True, True),
    (Role.ADMINISTRATOR, True, True),
])
def test_the_page_closes_and_reopens_for_those_who_may(client_as, make_user, org, role, may_view, may_close):
    client = client_as(make_user(role, username=f"p-{role}"))
    assert client.get(reverse("ledger:periods")).status_code == (200 if may_view else 403)
    response = client.post(reverse("ledger:period_close"), {"month": LAST_MONTH.isoformat()})
    assert response.status_code == (302 if may_close else 403)
    assert FiscalPeriod.objects.filter(organization=org, closed_at__isnull=False).exists() == may_close
    if not may_close:
        return
    page = client.get(reverse("ledger:periods")).content.decode()
    assert "Closed" in page and "Reopen" in page
    refused = client.post(reverse("ledger:period_reopen"), {"month": LAST_MONTH.isoformat(), "reason": ""})
    assert refused.status_code == 400 and "Say why the month is reopened." in refused.content.decode()
    assert client.post(reverse("ledger:period_reopen"),
                       {"month": LAST_MONTH.isoformat(), "reason": "Bank fee missed"}).status_code == 302
    assert not FiscalPeriod.objects.get(organization=org).is_closed


def test_a_manual_entry_into_a_closed_month_is_refused_on_its_date_field(client_as, admin, org):
    chart_install(organization=org)
    period_close(organization=org, month=LAST_MONTH, actor=admin)
    cash = Account.objects.get(organization=org, role=AccountRole.CASH)
    revenue = Account.objects.get(organization=org, role=AccountRole.SERVICE_REVENUE)
    response = client_as(admin).post(reverse("ledger:entry_create"), {
        "entry_date": IN_LAST_MONTH.isoformat(), "memo": "Late", "account": [cash.pk, revenue.pk],
        "debit": ["10.00", ""], "credit": ["", "10.00"], "department": ["", ""], "line_memo": ["", ""],
    })
    assert response.status_code == 400
    assert f"{IN_LAST_MONTH:%m/%d/%Y}" in response.content.decode()
    assert not JournalEntry.objects.filter(organization=org).exists()
