"""Editing the chart of accounts: numbers and jobs unique, a type fixed once posted to, closing instead of
deleting, every change audited; manual entries and reversals made by hand are audited too."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinicdesk.core.models import AuditEvent
from clinicdesk.ledger.choices import AccountRole, AccountType
from clinicdesk.ledger.models import Account
from clinicdesk.ledger.services import (
    LineSpec,
    account_create,
    account_for,
    account_update,
    chart_install,
    entry_post,
    manual_entry_post,
    manual_entry_reverse,
)

D = Decimal
DAY = date(2026, 11, 2)


@pytest.fixture
def chart(org):
    chart_install(organization=org)
    return {a.code: a for a in Account.objects.filter(organization=org)}


def test_an_account_is_added_and_audited(org, administrator, chart):
    account = account_create(organization=org, code=" 6950 ", name="Continuing education", actor=administrator,
                             account_type=AccountType.EXPENSE, parent=chart["6000"])
    assert account.code == "6950" and account.parent == chart["6000"] and account.is_active
    event = AuditEvent.objects.get(action="ledger.account_created")
    assert event.target_id == str(account.pk) and event.actor == administrator


@pytest.mark.parametrize("fields, field, message", [
    ({"code": "1000"}, "code", "already in the chart"),
    ({"role": AccountRole.CASH}, "role", "already does the job"),
    ({"account_type": "gadget"}, "account_type", "not a valid choice"),
    ({"code": ""}, "code", "cannot be blank"),
])
def test_a_bad_account_is_refused_naming_the_field(org, administrator, chart, fields, field, message):
    values = {"code": "7000", "name": "Something", "account_type": AccountType.EXPENSE, **fields}
    with pytest.raises(ValidationError) as refused:
        account_create(organization=org, actor=administrator, **values)
    assert field in refused.value.message_dict and message in str(refused.value.message_dict[field])
    assert not Account.objects.filter(organization=org, name="Something").exists()


def test_a_parent_from_another_organization_is_refused(org, other_org, administrator, chart):
    chart_install(organization=other_org)
    foreign = Account.objects.filter(organization=other_org).first()
    with pytest.raises(ValidationError, match="another organization"):
        account_create(organization=org, code="7000", name="X", account_type=AccountType.EXPENSE, parent=foreign,
                       actor=administrator)


def test_the_type_cannot_change_once_lines_were_posted(org, administrator, chart):
    account_update(account=chart["6400"], account_type=AccountType.ASSET, actor=administrator)  # nothing posted yet
    account_update(account=chart["6400"], account_type=AccountType.EXPENSE, actor=administrator)
    entry_post(organization=org, entry_date=DAY, kind="manual", lines=[
        LineSpec(account=chart["6400"], amount=D("12.00")), LineSpec(account=AccountRole.CASH, amount=D("-12.00")),
    ])
    with pytest.raises(ValidationError) as refused:
        account_update(account=chart["6400"], account_type=AccountType.ASSET, actor=administrator)
    assert "account_type" in refused.value.message_dict
    assert Account.objects.get(pk=chart["6400"].pk).account_type == AccountType.EXPENSE


def test_an_account_is_closed_not_deleted_and_a_closed_account_takes_no_postings(org, administrator, chart):
    account_update(account=chart["6600"], is_active=False, actor=administrator)
    assert AuditEvent.objects.filter(action="ledger.account_closed", target_id=str(chart["6600"].pk)).exists()
    with pytest.raises(ValidationError, match="closed"):
        entry_post(organization=org, entry_date=DAY, kind="manual", lines=[
            LineSpec(account=Account.objects.get(pk=chart["6600"].pk), amount=D("5.00")),
            LineSpec(account=AccountRole.CASH, amount=D("-5.00")),
        ])


def test_an_account_doing_a_job_cannot_be_closed_until_the_job_moves(org, administrator, chart):
    with pytest.raises(ValidationError) as refused:
        account_update(account=chart["1000"], is_active=False, actor=administrator)
    assert "is_active" in refused.value.message_dict
    drawer = account_create(organization=org, code="1001", name="Cash drawers", account_type=AccountType.ASSET,
                            actor=administrator)
    with pytest.raises(ValidationError, match="already does the job"):
        account_update(account=drawer, role=AccountRole.CASH, actor=administrator)
    account_update(account=chart["1000"], role="", is_active=False, actor=administrator)
    account_update(account=drawer, role=AccountRole.CASH, actor=administrator)
    assert account_for(org, AccountRole.CASH) == drawer  # the services post to the new account at once


def test_an_update_records_what_changed_and_an_empty_update_records_nothing(org, administrator, chart):
    account_update(account=chart["6700"], name="Software, IT and telephones", actor=administrator)
    event = AuditEvent.objects.get(action="ledger.account_changed")
    assert event.changes == {"name": ["Software and IT", "Software, IT and telephones"]}
    account_update(account=chart["6700"], name="Software, IT and telephones", actor=administrator)
    assert AuditEvent.objects.filter(action="ledger.account_changed").count() == 1
    with pytest.raises(ValidationError):
        account_update(account=chart["6700"], organization_id=99, actor=administrator)


def test_manual_entries_need_a_memo_and_reversals_a_reason(org, administrator, chart):
    lines = [LineSpec(account=chart["6500"], amount=D("900.00")), LineSpec(account=AccountRole.OPERATING_BANK, amount=D("-900.00"))]
    with pytest.raises(ValidationError, match="Say what the entry is for"):
        manual_entry_post(organization=org, entry_date=DAY, memo=" ", lines=lines, actor=administrator)
    entry = manual_entry_post(organization=org, entry_date=DAY, memo="Rent", lines=lines, actor=administrator)
    with pytest.raises(ValidationError) as refused:
        manual_entry_reverse(entry=entry, reason="", actor=administrator)
    assert "reason" in refused.value.message_dict
    reversal = manual_entry_reverse(entry=entry, reason="Paid by the landlord's error", actor=administrator,
                                    entry_date=date(2026, 11, 3))
    assert reversal.entry_date == date(2026, 11, 3) and "landlord" in reversal.memo
    assert AuditEvent.objects.filter(action="ledger.entry_reversed", target_id=str(entry.pk)).exists()
