"""Inventory postings are their own kind of entry: the journal offers the kind as a filter, lists only those entries
under it, and its CSV names the kind."""

from datetime import date
from decimal import Decimal

from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.services import LineSpec, entry_post

D = Decimal


def test_the_journal_filters_by_the_inventory_kind(client_as, org, make_user):
    # given a receipt of stock and a manual entry
    entry_post(organization=org, entry_date=date(2026, 11, 2), kind=EntryKind.INVENTORY, memo="Receipt: 10 dose vaccine",
               lines=[LineSpec(account=AccountRole.INVENTORY, amount=D("150.00")),
                      LineSpec(account=AccountRole.ACCOUNTS_PAYABLE, amount=D("-150.00"))])
    entry_post(organization=org, entry_date=date(2026, 11, 2), kind=EntryKind.MANUAL, memo="Rent accrual",
               lines=[LineSpec(account=AccountRole.INVENTORY, amount=D("1.00")),
                      LineSpec(account=AccountRole.ACCOUNTS_PAYABLE, amount=D("-1.00"))])
    client = client_as(make_user(Role.BILLER, username="biller-kinds"))
    # when the journal is filtered by the inventory kind
    page = client.get(reverse("ledger:journal") + "?kind=inventory").content.decode()
    # then the kind is offered and only the receipt is listed
    assert '<option value="inventory" selected>Inventory (stock received, used, counted)</option>' in page
    assert "Receipt: 10 dose vaccine" in page and "Rent accrual" not in page
    export = b"".join(client.get(reverse("ledger:journal_export") + "?kind=inventory").streaming_content).decode()
    assert "Inventory (stock received, used, counted)" in export and "Rent accrual" not in export
