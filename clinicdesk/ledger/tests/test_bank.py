"""The bank services: statement import (CSV with a mapping, OFX 1.x and 2.x, duplicates, bad files), matching
(automatic, by hand, bank-only items, closed months), reconciliation arithmetic worked by hand, locking and undo."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinicdesk.ledger import bank, bank_import, reconcile
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.models import (
    Account,
    BankMatch,
    ClearedLine,
    JournalEntry,
    Reconciliation,
    StatementImport,
    StatementLine,
)
from clinicdesk.ledger.periods import period_close

from .bank_books import bank_post, operating_bank, sgml_ofx, xml_ofx

D = Decimal
MAPPING = {"date": "Date", "description": "Description", "amount": "Amount", "reference": "Ref"}


@pytest.fixture
def account(org):
    return operating_bank(org)


def _import(account, content: bytes, *, name: str = "statement.csv", mapping=None, actor=None):
    kind, lines = bank_import.statement_file_read(bank_account=account, name=name, content=content, mapping=mapping)
    return bank_import.statement_import(bank_account=account, lines=lines, file_format=kind, file_name=name,
                                        mapping=mapping, actor=actor)


# --- import --------------------------------------------------------------------------------------------------


def test_a_csv_with_an_amount_column_imports_and_its_mapping_is_remembered(account):
    content = b"Date,Description,Amount,Ref\n10/02/2026,DEPOSIT,\"1,250.00\",\n2026-10-05,CHECK 1042,(200.00),1042\n"
    made, preview = _import(account, content, mapping=MAPPING)
    lines = list(StatementLine.objects.filter(bank_account=account).order_by("posted_on"))
    assert [(ln.posted_on, ln.amount, ln.reference) for ln in lines] == [
        (date(2026, 10, 2), D("1250.00"), ""), (date(2026, 10, 5), D("-200.00"), "1042")]
    assert made.lines_added == 2 and made.lines_skipped == 0
    account.refresh_from_db()
    assert account.csv_mapping == MAPPING
    # the remembered mapping reads the next file without being given one
    kind, again = bank_import.statement_file_read(bank_account=account, name="next.csv", content=content)
    assert kind == "csv" and len(again) == 2


def test_debit_and_credit_columns_give_money_out_negative_and_money_in_positive(account):
    content = b"Posted,Memo,Withdrawal,Deposit\n2026-10-02,Rent,7250.00,\n2026-10-03,Interest,,1.25\n"
    _made, preview = _import(account, content, mapping={"date": "posted", "description": "Memo", "debit": "Withdrawal",
                                                         "credit": "Deposit"})
    assert [ln.amount for ln in preview.new] == [D("-7250.00"), D("1.25")]


def test_a_second_import_skips_the_lines_already_there_and_shows_them(account):
    content = b"Date,Description,Amount,Ref\n2026-10-02,DEPOSIT,500.00,\n"
    _import(account, content, mapping=MAPPING)
    more = content + b"2026-10-03,DEPOSIT,75.00,\n"
    made, preview = _import(account, more, mapping=MAPPING)
    assert made.lines_added == 1 and len(preview.duplicates) == 1
    assert "same date, amount and description" in preview.duplicates[0][1]
    assert StatementLine.objects.filter(bank_account=account).count() == 2


@pytest.mark.parametrize("content, message", [
    (b"Date,Description,Amount,Ref\n2026-10-02,DEPOSIT,500.00,\n2026-10-03,FEE,12.x0,\n", "Line 3, Amount: '12.x0' is not an amount."),
    (b"Date,Description,Amount,Ref\n2026-13-02,DEPOSIT,500.00,\n", "Line 2, Date: '2026-13-02' is not a date"),
    (b"Date,Description,Amount,Ref\n2026-10-02,,500.00,\n", "Line 2, Description: the description is empty."),
    (b"Date,Description,Amount,Ref\n2026-10-02,X,0.00,\n", "Line 2: the amount is zero."),
    (b"Date,Description,Amount,Ref\n2026-10-02,X,1.005,\n", "Line 2, Amount: '1.005' is not an amount in cents."),
])
def test_a_bad_csv_names_the_line_and_the_column_and_saves_nothing(account, content, message):
    with pytest.raises(ValidationError) as exc:
        _import(account, content, mapping=MAPPING)
    assert any(message in m for m in exc.value.messages), exc.value.messages
    assert not StatementLine.objects.exists() and not StatementImport.objects.exists()


def test_a_mapping_naming_a_missing_column_names_the_mapping_field(account):
    with pytest.raises(ValidationError) as exc:
        _import(account, b"When,What,How much\n2026-10-02,X,1.00\n", mapping=MAPPING)
    assert "date_column" in exc.value.message_dict and "its columns are: When, What, How much" in \
        exc.value.message_dict["date_column"][0]


def test_an_sgml_ofx_1_statement_imports_and_a_second_import_skips_by_fitid(account):
    made, preview = _import(account, sgml_ofx(), name="october.qfx")
    assert made.file_format == "ofx" and made.lines_added == 2
    fee = StatementLine.objects.get(fitid="OCT-2")
    assert fee.amount == D("-12.50") and fee.posted_on == date(2026, 10, 31) and fee.description == "MONTHLY FEE Service charge"
    again, preview = _import(account, sgml_ofx(), name="october.qfx")
    assert again.lines_added == 0 and [why for _ln, why in preview.duplicates] == [
        "FITID OCT-1 was imported before", "FITID OCT-2 was imported before"]


def test_an_xml_ofx_2_statement_imports_with_its_check_number(account):
    _import(account, xml_ofx(), name="october.ofx")
    check = StatementLine.objects.get(fitid="X-1")
    assert (check.amount, check.posted_on, check.reference) == (D("-200.00"), date(2026, 10, 5), "1042")


def test_a_bad_ofx_amount_names_the_line_and_the_field_and_saves_nothing(account):
    with pytest.raises(ValidationError) as exc:
        _import(account, sgml_ofx(fee="-12.x0"), name="october.ofx")
    # TRNAMT of the second transaction is on line 26 of the file
    assert exc.value.messages == ["Line 26, TRNAMT: '-12.x0' is not an amount."]
    assert not StatementLine.objects.exists()


def test_an_ofx_for_another_account_or_not_ofx_at_all_is_refused(account):
    with pytest.raises(ValidationError, match="ACCTID: this statement is for the account ending 9999, not 4321"):
        _import(account, xml_ofx(acctid="0000009999"), name="x.ofx")
    with pytest.raises(ValidationError, match="not a readable OFX file"):
        _import(account, b"OFXHEADER:100\r\nDATA:OFXSGML\r\n\r\n<OFX><BROKEN", name="x.ofx")
    assert not StatementLine.objects.exists()


# --- matching ------------------------------------------------------------------------------------------------


def _lines(account, *rows):
    content = "Date,Description,Amount,Ref\n" + "".join(f"{d},{s},{a},{r}\n" for d, s, a, r in rows)
    _import(account, content.encode(), mapping=MAPPING)
    return {ln.description: ln for ln in StatementLine.objects.filter(bank_account=account)}


def test_automatic_matching_by_amount_and_date_reference_and_a_deposit_of_several_entries(org, account):
    # given: ledger lines on the bank account
    single = bank_post(org, "500.00", on=date(2026, 10, 1))
    far = bank_post(org, "77.00", on=date(2026, 9, 1))  # too far from the statement's date
    check = bank_post(org, "-200.00", on=date(2026, 10, 3), memo="Check 1042 to Acme", other=AccountRole.ACCOUNTS_PAYABLE,
                      kind=EntryKind.PAYMENT)
    other_check = bank_post(org, "-200.00", on=date(2026, 10, 3), memo="Check 1043", other=AccountRole.ACCOUNTS_PAYABLE,
                            kind=EntryKind.PAYMENT)
    day_a = bank_post(org, "120.00", on=date(2026, 10, 6))
    day_b = bank_post(org, "80.50", on=date(2026, 10, 6), other=AccountRole.CASH)
    lines = _lines(account, ("2026-10-02", "DEPOSIT", "500.00", ""), ("2026-10-05", "CHECK", "-200.00", "1042"),
                   ("2026-10-07", "DEPOSIT TWO", "200.50", ""), ("2026-10-02", "OLD", "77.00", ""))
    # when
    matched = bank.statement_lines_auto_match(bank_account=account, actor=None)
    # then
    assert matched == 3
    assert [m.journal_line_id for m in lines["DEPOSIT"].matches.all()] == [single.pk]
    assert [m.journal_line_id for m in lines["CHECK"].matches.all()] == [check.pk]
    assert sorted(m.journal_line_id for m in lines["DEPOSIT TWO"].matches.all()) == sorted([day_a.pk, day_b.pk])
    assert not lines["OLD"].matches.exists() and not BankMatch.objects.filter(journal_line=far).exists()
    assert not BankMatch.objects.filter(journal_line=other_check).exists()


def test_two_equally_near_ledger_lines_of_the_same_amount_are_left_for_a_person(org, account):
    bank_post(org, "50.00", on=date(2026, 10, 1))
    bank_post(org, "50.00", on=date(2026, 10, 3))
    _lines(account, ("2026-10-02", "DEPOSIT", "50.00", ""))
    assert bank.statement_lines_auto_match(bank_account=account, actor=None) == 0


def test_matching_by_hand_needs_the_amounts_to_agree_and_unmatching_frees_the_lines(org, account, administrator):
    a = bank_post(org, "100.00", on=date(2026, 10, 1))
    b = bank_post(org, "40.00", on=date(2026, 10, 9))
    line = _lines(account, ("2026-10-02", "DEPOSIT", "140.00", ""))["DEPOSIT"]
    with pytest.raises(ValidationError, match="come to 100.00, the statement line to 140.00"):
        bank.statement_line_match(statement_line=line, journal_line_ids=[a.pk], actor=administrator)
    bank.statement_line_match(statement_line=line, journal_line_ids=[a.pk, b.pk], actor=administrator)
    assert line.matches.count() == 2
    with pytest.raises(ValidationError, match="already matched"):
        bank.statement_line_match(statement_line=line, journal_line_ids=[a.pk], actor=administrator)
    bank.statement_line_unmatch(statement_line=line, actor=administrator)
    assert not BankMatch.objects.exists()


def test_another_accounts_ledger_line_cannot_be_matched(org, account, administrator):
    cash = JournalEntry.objects.get(pk=bank_post(org, "100.00", on=date(2026, 10, 1)).entry_id).lines.get(amount=D("-100.00"))
    line = _lines(account, ("2026-10-02", "DEPOSIT", "-100.00", ""))["DEPOSIT"]
    with pytest.raises(ValidationError, match="not on this bank account"):
        bank.statement_line_match(statement_line=line, journal_line_ids=[cash.pk], actor=administrator)


def test_a_bank_fee_becomes_a_balanced_entry_matched_to_its_line(org, account, administrator):
    fees = Account.objects.get(organization=org, code="6900")
    line = _lines(account, ("2026-10-31", "MONTHLY FEE", "-12.50", ""))["MONTHLY FEE"]
    bank.statement_line_entry_create(statement_line=line, account=fees, memo="Bank fee October", actor=administrator)
    entry = JournalEntry.objects.get(kind=EntryKind.BANK_ITEM)
    assert entry.entry_date == date(2026, 10, 31) and entry.total == D("12.50") and entry.memo == "Bank fee October"
    assert sorted((ln.account_id, ln.amount) for ln in entry.lines.all()) == sorted(
        [(account.account_id, D("-12.50")), (fees.pk, D("12.50"))])
    assert line.matches.get().journal_line.entry_id == entry.pk


def test_a_bank_item_dated_in_a_closed_month_is_refused_and_nothing_posts(org, account, administrator):
    fees = Account.objects.get(organization=org, code="6900")
    line = _lines(account, ("2026-10-31", "MONTHLY FEE", "-12.50", ""))["MONTHLY FEE"]
    period_close(organization=org, month=date(2026, 10, 1), actor=administrator)
    with pytest.raises(ValidationError) as exc:
        bank.statement_line_entry_create(statement_line=line, account=fees, actor=administrator)
    assert "The books for October 2026 are closed" in exc.value.message_dict["entry_date"][0]
    assert not JournalEntry.objects.filter(kind=EntryKind.BANK_ITEM).exists() and not BankMatch.objects.exists()


# --- reconciliation ------------------------------------------------------------------------------------------


@pytest.fixture
def october(org, account, administrator):
    """Worked by hand: 1,000.00 in the bank before October; a 500.00 deposit and a 200.00 check clear; a 50.00
    check written on 10/30 does not; the bank charges a 12.50 fee on 10/31. The bank's statement ends at
    1,000.00 + 500.00 - 200.00 - 12.50 = 1,287.50; the books end at 1,237.50 (the 50.00 check outstanding)."""
    opening = bank_post(org, "1000.00", on=date(2026, 9, 30), other=AccountRole.RETAINED_EARNINGS, kind=EntryKind.OPENING)
    bank_post(org, "500.00", on=date(2026, 10, 1))
    bank_post(org, "-200.00", on=date(2026, 10, 3), other=AccountRole.ACCOUNTS_PAYABLE, kind=EntryKind.PAYMENT)
    outstanding = bank_post(org, "-50.00", on=date(2026, 10, 30), other=AccountRole.ACCOUNTS_PAYABLE,
                            kind=EntryKind.PAYMENT)
    lines = _lines(account, ("2026-10-02", "DEPOSIT", "500.00", ""), ("2026-10-05", "CHECK 1042", "-200.00", "1042"),
                   ("2026-10-31", "FEE", "-12.50", ""))
    assert bank.statement_lines_auto_match(bank_account=account, actor=None) == 2
    bank.statement_line_entry_create(statement_line=lines["FEE"], account=Account.objects.get(organization=org, code="6900"),
                                     actor=administrator)
    return {"opening": opening, "outstanding": outstanding, "lines": lines}


def test_the_first_reconciliation_brings_the_books_forward_and_its_arithmetic_is_the_hand_worked_one(account, october):
    preview = reconcile.reconciliation_preview(bank_account=account, end_date=date(2026, 10, 31),
                                               ending_balance=D("1287.50"))
    assert preview.beginning_balance == D("1000.00")
    assert [ln.pk for ln in preview.brought_forward] == [october["opening"].pk]
    assert (preview.deposits, preview.payments, preview.cleared_total) == (D("500.00"), D("-212.50"), D("287.50"))
    assert preview.cleared_balance == D("1287.50") and preview.difference == 0 and preview.can_finish
    off = reconcile.reconciliation_preview(bank_account=account, end_date=date(2026, 10, 31), ending_balance=D("1290.00"))
    assert off.difference == D("2.50") and not off.can_finish


def test_a_difference_refuses_to_finish_and_nothing_is_locked(account, october, administrator):
    with pytest.raises(ValidationError) as exc:
        reconcile.reconciliation_finish(bank_account=account, end_date=date(2026, 10, 31), ending_balance=D("1290.00"),
                                        actor=administrator)
    assert exc.value.message_dict["ending_balance"][0].startswith("The difference is 2.50: it must be zero")
    assert not Reconciliation.objects.exists() and not ClearedLine.objects.exists()


def test_unmatched_lines_refuse_to_finish(org, account, october, administrator):
    _lines(account, ("2026-10-20", "MYSTERY", "5.00", ""))
    with pytest.raises(ValidationError, match="1 statement lines up to 10/31/2026 are not matched"):
        reconcile.reconciliation_finish(bank_account=account, end_date=date(2026, 10, 31), ending_balance=D("1292.50"),
                                        actor=administrator)


def test_a_finished_reconciliation_locks_its_lines_and_clears_the_ledger_lines(account, october, administrator):
    rec = reconcile.reconciliation_finish(bank_account=account, end_date=date(2026, 10, 31),
                                          ending_balance=D("1287.50"), actor=administrator)
    assert (rec.beginning_balance, rec.cleared_total, rec.ending_balance) == (D("1000.00"), D("287.50"), D("1287.50"))
    assert ClearedLine.objects.filter(reconciliation=rec).count() == 4  # opening + deposit + check + fee
    assert not ClearedLine.objects.filter(journal_line=october["outstanding"]).exists()
    deposit = october["lines"]["DEPOSIT"]
    with pytest.raises(ValidationError, match="finished reconciliation: it is locked"):
        bank.statement_line_unmatch(statement_line=deposit, actor=administrator)
    assert deposit.matches.exists()
    # the report: the 50.00 check outstanding explains the books' 1,237.50
    report = reconcile.reconciliation_report(reconciliation=rec)
    assert [ln.pk for ln in report.outstanding] == [october["outstanding"].pk]
    assert report.book_balance == D("1237.50") and report.unexplained == 0
    assert [ln.pk for ln in reconcile.uncleared_lines(bank_account=account)] == [october["outstanding"].pk]


def test_the_next_reconciliation_begins_where_the_last_ended_and_only_the_last_is_undone(org, account, october,
                                                                                          administrator):
    first = reconcile.reconciliation_finish(bank_account=account, end_date=date(2026, 10, 31),
                                            ending_balance=D("1287.50"), actor=administrator)
    with pytest.raises(ValidationError, match="choose a later statement end date"):
        reconcile.reconciliation_preview(bank_account=account, end_date=date(2026, 10, 31), ending_balance=D("0"))
    _lines(account, ("2026-11-02", "CHECK 1050", "-50.00", ""))
    bank.statement_lines_auto_match(bank_account=account, actor=None)
    second = reconcile.reconciliation_finish(bank_account=account, end_date=date(2026, 11, 30),
                                             ending_balance=D("1237.50"), actor=administrator)
    assert second.beginning_balance == D("1287.50") and second.cleared_total == D("-50.00")
    with pytest.raises(ValidationError, match="Only the last reconciliation"):
        reconcile.reconciliation_undo(reconciliation=first, actor=administrator)
    reconcile.reconciliation_undo(reconciliation=second, actor=administrator)
    assert not ClearedLine.objects.filter(journal_line=october["outstanding"]).exists()
    assert StatementLine.objects.get(description="CHECK 1050").reconciliation_id is None
    # the first still stands, and the undone one may be done again
    assert reconcile.last_reconciliation(bank_account=account) == first
    again = reconcile.reconciliation_finish(bank_account=account, end_date=date(2026, 11, 30),
                                            ending_balance=D("1237.50"), actor=administrator)
    assert again.pk != second.pk


def test_api_lines_name_the_bad_line_and_field():
    with pytest.raises(ValidationError) as exc:
        bank_import.api_lines_read([{"date": "2026-10-02", "description": "X", "amount": "1.00"},
                                    {"date": "2026-10-02", "description": "Y", "amount": "ten"}])
    assert exc.value.message_dict == {"lines": ["lines[2].amount: 'ten' is not an amount."]}


def test_the_month_end_balances_add_up_the_lines_month_by_month(org, account):
    from django.utils import timezone

    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    bank_post(org, "1000.00", on=date(2000, 1, 3))  # long before the chart's year
    bank_post(org, "250.00", on=last_month)
    bank_post(org, "-100.00", on=last_month + timedelta(days=1), other=AccountRole.ACCOUNTS_PAYABLE)
    bank_post(org, "40.00", on=this_month)
    months = bank.bank_balance_by_month(bank_account=account)
    assert len(months) == 12 and months[-1] == (this_month, D("1190.00")) and months[-2] == (last_month, D("1150.00"))
    assert months[0][1] == D("1000.00")
