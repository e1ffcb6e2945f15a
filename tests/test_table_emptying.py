"""After a transactional test only the tables holding rows are emptied, append-only ones included, and the content
types and permissions stay."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import AuditEvent
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.models import JournalEntry, JournalLine
from clinicdesk.ledger.services import LineSpec, chart_install, entry_post
from tests.table_emptying import tables_empty, tables_holding_rows


@pytest.mark.django_db(transaction=True)
def test_written_tables_are_emptied_and_the_rest_left_alone(org):
    # given a posted (sealed, append-only) entry and an audit row, committed
    chart_install(organization=org)
    entry_post(organization=org, entry_date=date(2026, 3, 2), kind=EntryKind.ADJUSTMENT, lines=[
        LineSpec(account=AccountRole.CASH, amount=Decimal("12.50")),
        LineSpec(account=AccountRole.SERVICE_REVENUE, amount=Decimal("-12.50")),
    ])
    audit_event(action="test.written", actor=None, target=org, organization_id=org.pk, summary="a row to empty")
    held = set(tables_holding_rows(connection))
    assert {"core_organization", "ledger_account", "ledger_journalentry", "ledger_journalline",
            "core_auditevent"} <= held
    assert "billing_payment" not in held
    kinds, permissions = ContentType.objects.count(), Permission.objects.count()

    # when
    emptied = tables_empty(connection)

    # then every table that held rows is empty, the rest were not touched, and nothing else is left
    assert set(emptied) == held
    assert not JournalEntry.objects.exists() and not JournalLine.objects.exists()
    assert not AuditEvent.objects.exists()
    assert tables_holding_rows(connection) == []
    assert (ContentType.objects.count(), Permission.objects.count()) == (kinds, permissions)
    assert kinds > 100


@pytest.mark.django_db(transaction=True)
def test_nothing_written_nothing_emptied():
    assert tables_empty(connection) == []
