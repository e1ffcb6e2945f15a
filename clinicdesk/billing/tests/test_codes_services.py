"""Fee schedule import, fee look-up and the procedure check."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from clinicdesk.billing.choices import CodeSystem
from clinicdesk.billing.demo_codes import PROCEDURES, seed_codes
from clinicdesk.billing.models import Fee, FeeSchedule, ProcedureCode
from clinicdesk.billing.services.codes import (
    fee_lookup,
    fee_schedule_create,
    fee_schedule_import,
    procedure_check,
)
from clinicdesk.core.choices import ImportOutcome, Role
from clinicdesk.core.models import AuditEvent

HEADER = "code,modifiers,description,price,effective_from,effective_to\n"
GOOD = HEADER + (
    "99213,,Follow-up visit,110.00,2026-01-01,\n"
    "99213,25,Follow-up visit,110.00,2026-01-01,\n"
    "93000,\"26,tc\",ECG,65,2026-01-01,2026-06-30\n"
    "93000,\"26,tc\",ECG,70.50,2026-07-01,\n"
)


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="biller1")


@pytest.fixture
def schedule(org, biller):
    return fee_schedule_create(organization=org, name="Self-pay", actor=biller)


def run(schedule, biller, text, *, dry_run=False, code_system=CodeSystem.CPT):
    return fee_schedule_import(schedule=schedule, file=text, code_system=code_system, actor=biller, dry_run=dry_run)


def messages_of(result):
    return {r.line: r.message for r in result.rows if r.outcome == ImportOutcome.ERROR}


# --- schedules ---------------------------------------------------------------------------------------------


def test_the_first_schedule_becomes_the_default_and_a_new_default_takes_over(org, biller, schedule):
    assert schedule.is_default
    second = fee_schedule_create(organization=org, name="Acme Health contract", actor=biller)
    assert not second.is_default
    third = fee_schedule_create(organization=org, name="New self-pay", is_default=True, actor=biller)
    schedule.refresh_from_db()
    assert third.is_default and not schedule.is_default
    assert FeeSchedule.objects.filter(organization=org, is_default=True).count() == 1


def test_the_database_refuses_two_default_schedules(org, schedule):
    with pytest.raises(IntegrityError), transaction.atomic():
        FeeSchedule.objects.create(organization=org, name="Second default", is_default=True)


def test_schedule_names_are_unique_per_practice(org, other_org, biller, schedule):
    with pytest.raises(ValidationError) as caught:
        fee_schedule_create(organization=org, name="self-pay", actor=biller)
    assert "name" in caught.value.message_dict
    fee_schedule_create(organization=other_org, name="Self-pay", actor=biller)


# --- import ------------------------------------------------------------------------------------------------


def test_a_good_file_is_imported_with_procedures_and_audited(org, biller, schedule):
    # when
    result = run(schedule, biller, GOOD)
    # then
    assert result.saved and not result.errors
    assert result.counts == {"new": 4, "updated": 0, "unchanged": 0, "error": 0}
    assert set(ProcedureCode.objects.filter(organization=org).values_list("code", "code_system")) == {
        ("99213", "CPT"), ("93000", "CPT")}
    fees = {(f.procedure.code, f.modifiers, f.effective_from): f for f in Fee.objects.filter(schedule=schedule)}
    assert fees[("93000", "26,TC", date(2026, 1, 1))].price == Decimal("65.00")
    assert fees[("93000", "26,TC", date(2026, 1, 1))].effective_to == date(2026, 6, 30)
    assert fees[("93000", "26,TC", date(2026, 7, 1))].price == Decimal("70.50")
    event = AuditEvent.objects.get(action="fee_schedule.imported")
    assert event.actor_id == biller.pk and "4 new" in event.summary


def test_modifier_order_is_kept_as_entered(biller, schedule):
    run(schedule, biller, HEADER + "93000,\"TC, 26\",ECG,65.00,2026-01-01,\n")
    assert Fee.objects.get().modifiers == "TC,26"


def test_a_dry_run_saves_nothing_and_shows_every_row(biller, schedule):
    result = run(schedule, biller, GOOD, dry_run=True)
    assert not result.saved and [r.outcome for r in result.rows] == [ImportOutcome.NEW] * 4
    assert [r.line for r in result.rows] == [2, 3, 4, 5]
    assert not Fee.objects.exists() and not ProcedureCode.objects.exists()
    assert not AuditEvent.objects.filter(action="fee_schedule.imported").exists()


def test_importing_the_same_file_twice_changes_nothing_the_second_time(biller, schedule):
    run(schedule, biller, GOOD)
    before = list(Fee.objects.values_list("id", "price", "effective_to", "updated_at"))
    procedures = list(ProcedureCode.objects.values_list("id", "description", "updated_at"))
    # when
    again = run(schedule, biller, GOOD)
    # then
    assert again.counts == {"new": 0, "updated": 0, "unchanged": 4, "error": 0}
    assert list(Fee.objects.values_list("id", "price", "effective_to", "updated_at")) == before
    assert list(ProcedureCode.objects.values_list("id", "description", "updated_at")) == procedures


def test_changed_prices_and_descriptions_are_updated(biller, schedule):
    run(schedule, biller, GOOD)
    changed = GOOD.replace("99213,25,Follow-up visit,110.00", "99213,25,Follow-up visit,115.00").replace(
        "ECG,70.50,2026-07-01,", "ECG,70.50,2026-07-01,2026-12-31")
    result = run(schedule, biller, changed, dry_run=True)
    assert [r.outcome for r in result.rows] == ["unchanged", "updated", "unchanged", "updated"]
    stamped = Fee.objects.get(modifiers="25").updated_at
    result = run(schedule, biller, changed)
    assert result.saved
    assert Fee.objects.get(modifiers="25").price == Decimal("115.00")
    assert Fee.objects.get(modifiers="25").updated_at > stamped
    assert Fee.objects.get(modifiers="26,TC", effective_from=date(2026, 7, 1)).effective_to == date(2026, 12, 31)
    renamed = run(schedule, biller, HEADER + "99213,,Established visit,110.00,2026-01-01,\n")
    assert renamed.counts["updated"] == 1 and ProcedureCode.objects.get(code="99213").description == "Established visit"
    assert ProcedureCode.objects.get(code="99213").updated_at > ProcedureCode.objects.get(code="93000").updated_at


BAD_ROWS = [
    ("9921,,Visit,10.00,2026-01-01,", "code", "is not a CPT code"),
    ("ABCDE,,Visit,10.00,2026-01-01,", "code", "is not a CPT code"),
    ("99213,,Visit,1e3,2026-01-01,", "price", "is not a plain amount"),
    ("99213,,Visit,-5.00,2026-01-01,", "price", "negative"),
    ("99213,,Visit,10.005,2026-01-01,", "price", "more than two decimals"),
    ("99213,,Visit,$10.00,2026-01-01,", "price", "is not a plain amount"),
    ("99213,,Visit,\"1,000.00\",2026-01-01,", "price", "is not a plain amount"),
    ("99213,,Visit,NaN,2026-01-01,", "price", "is not a plain amount"),
    ("99213,,Visit,,2026-01-01,", "price", "required"),
    ("99213,,Visit,10.00,01/02/2026,", "effective_from", "is not a date"),
    ("99213,,Visit,10.00,2026-02-30,", "effective_from", "is not a date"),
    ("99213,,Visit,10.00,,", "effective_from", "required"),
    ("99213,,Visit,10.00,2026-01-01,2026-13-01", "effective_to", "is not a date"),
    ("99213,,Visit,10.00,2026-03-01,2026-02-28", "effective_to", "before effective_from"),
    ("99213,2,Visit,10.00,2026-01-01,", "modifiers", "two letters or digits"),
    ("99213,\"25,25\",Visit,10.00,2026-01-01,", "modifiers", "twice"),
    ("99213,,,10.00,2026-01-01,", "description", "required"),
]


@pytest.mark.parametrize(("line", "column", "words"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_a_bad_row_is_reported_by_line_and_column_and_nothing_is_saved(biller, schedule, line, column, words):
    # given a good row, then the bad one on line 3
    text = HEADER + "99214,,Visit,150.00,2026-01-01,\n" + line + "\n"
    # when
    result = run(schedule, biller, text)
    # then
    assert not result.saved
    assert [r.outcome for r in result.rows] == [ImportOutcome.NEW, ImportOutcome.ERROR]
    message = messages_of(result)[3]
    assert message.startswith(f"Line 3, column {column}:") and words in message
    assert not Fee.objects.exists() and not ProcedureCode.objects.exists()


def test_every_error_of_a_file_is_reported_at_once(biller, schedule):
    text = HEADER + "\n".join(line for line, _, _ in BAD_ROWS[:5]) + "\n"
    result = run(schedule, biller, text)
    assert sorted(messages_of(result)) == [2, 3, 4, 5, 6]



def test_an_xlsx_file_gives_the_same_rows_and_errors_as_its_csv(biller, schedule):
    import csv
    import io

    from openpyxl import Workbook

    # given the same good and bad rows as CSV text and as a spreadsheet
    text = GOOD + "\n".join(line for line, _, _ in BAD_ROWS[:5]) + "\n"
    book = Workbook()
    for values in csv.reader(io.StringIO(text)):
        book.active.append(values)
    buffer = io.BytesIO()
    book.save(buffer)
    # when both are checked
    from_csv, from_xlsx = run(schedule, biller, text, dry_run=True), run(schedule, biller, buffer.getvalue(), dry_run=True)
    # then each line has the same outcome and message
    assert [(r.line, r.outcome, r.message) for r in from_xlsx.rows] == [(r.line, r.outcome, r.message) for r in from_csv.rows]
    assert len(from_csv.errors) == 5 and not Fee.objects.exists()

def test_hcpcs_codes_by_choice_or_by_column(org, biller, schedule):
    result = run(schedule, biller, HEADER + "J1100,,Dexamethasone 1 mg,6.50,2026-01-01,\n", code_system=CodeSystem.HCPCS)
    assert result.saved and ProcedureCode.objects.get(code="J1100").code_system == CodeSystem.HCPCS
    mixed = ("code_system,code,modifiers,description,price,effective_from,effective_to\n"
             "HCPCS,G0008,,Flu shot given,28.00,2026-01-01,\n"
             "CPT,90686,,Flu vaccine,42.00,2026-01-01,\n"
             "CPT,G0009,,Wrong system,1.00,2026-01-01,\n")
    result = run(schedule, biller, mixed, code_system="")
    assert messages_of(result) == {4: "Line 4, column code: G0009 is not a CPT code (five digits, or four digits and F, T or U)."}
    result = run(schedule, biller, HEADER + "J1100,,Dexamethasone 1 mg,6.50,2026-01-01,\n", code_system=CodeSystem.CPT)
    assert "Line 2, column code" in messages_of(result)[2]


def test_overlapping_dates_are_refused_within_the_file(biller, schedule):
    text = HEADER + "99213,,Visit,100.00,2026-01-01,2026-12-31\n99213,,Visit,105.00,2026-06-01,\n"
    result = run(schedule, biller, text)
    assert messages_of(result) == {3: "Line 3, column effective_from: the dates overlap the price from 2026-01-01 to "
                                      "2026-12-31 (line 2); end the earlier price the day before the next one starts."}
    assert not Fee.objects.exists()


def test_overlapping_dates_are_refused_against_the_schedule(biller, schedule):
    run(schedule, biller, HEADER + "99213,,Visit,100.00,2026-01-01,\n")
    result = run(schedule, biller, HEADER + "99213,,Visit,105.00,2026-07-01,\n")
    assert "overlap the price from 2026-01-01 to open end (already on the schedule)" in messages_of(result)[2]
    # Ending the open price the day before the new one is the fix, in the same file.
    fixed = run(schedule, biller, HEADER + "99213,,Visit,100.00,2026-01-01,2026-06-30\n99213,,Visit,105.00,2026-07-01,\n")
    assert fixed.saved and Fee.objects.count() == 2
    # Other modifiers are other prices: no overlap.
    assert run(schedule, biller, HEADER + "99213,25,Visit,100.00,2026-01-01,\n").saved


def test_the_same_price_twice_in_a_file_is_refused(biller, schedule):
    result = run(schedule, biller, HEADER + "99213,,Visit,1.00,2026-01-01,\n99213,,Visit,2.00,2026-01-01,\n")
    assert "same code, modifiers and effective_from as line 2" in messages_of(result)[3]


def test_file_level_problems_name_the_file(biller, schedule):
    for text, words in [("", "empty"), ("code,price\n99213,1.00\n", "lacks the columns description, effective_from"),
                        (HEADER, "no rows"), (b"\xff\xfe\x00bad", "not UTF-8")]:
        with pytest.raises(ValidationError) as caught:
            run(schedule, biller, text)
        assert words in caught.value.message_dict["file"][0]
    with pytest.raises(ValidationError) as caught:
        run(schedule, biller, GOOD, code_system="")
    assert "code_system" in caught.value.message_dict


def test_bytes_with_a_byte_order_mark_and_quoted_multiline_fields(biller, schedule):
    text = HEADER + '99213,,"Follow-up\nvisit",1.0.0,2026-01-01,\n\n99214,,Visit,x,2026-01-01,\n'
    result = run(schedule, biller, ("\ufeff" + text).encode())
    # The quoted description spans lines 2 and 3; line 4 is blank.
    assert sorted(messages_of(result)) == [2, 5]
    assert messages_of(result)[5].startswith("Line 5, column price")


def test_a_model_row_refuses_an_overlap_in_clean(org, biller, schedule):
    run(schedule, biller, HEADER + "99213,,Visit,100.00,2026-01-01,\n")
    fee = Fee(organization=org, schedule=schedule, procedure=ProcedureCode.objects.get(), modifiers="",
              price=Decimal("1.00"), effective_from=date(2027, 1, 1))
    with pytest.raises(ValidationError) as caught:
        fee.full_clean()
    assert "effective_from" in caught.value.message_dict


def test_the_database_refuses_negative_prices_and_dates_out_of_order(org, biller, schedule):
    run(schedule, biller, HEADER + "99213,,Visit,100.00,2026-01-01,\n")
    procedure = ProcedureCode.objects.get()
    for price, start, end in [(Decimal("-1"), date(2027, 1, 1), None), (Decimal("1"), date(2027, 2, 1), date(2027, 1, 1))]:
        with pytest.raises(IntegrityError), transaction.atomic():
            Fee.objects.create(organization=org, schedule=schedule, procedure=procedure, modifiers="X1", price=price,
                               effective_from=start, effective_to=end)


# --- fee_lookup and procedure_check ------------------------------------------------------------------------


@pytest.fixture
def priced(org, biller, schedule):
    run(schedule, biller, HEADER + (
        "99213,,Visit,100.00,2025-01-01,2025-12-31\n"
        "99213,,Visit,110.00,2026-01-01,\n"
        "99213,25,Visit,112.00,2026-01-01,\n"
        "93000,,ECG,65.00,2026-01-01,\n"
    ))
    return schedule


def test_fee_lookup_by_date(org, priced):
    assert fee_lookup(organization=org, code="99213", on_date=date(2025, 6, 1)).price == Decimal("100.00")
    assert fee_lookup(organization=org, code="99213", on_date=date(2025, 12, 31)).price == Decimal("100.00")
    assert fee_lookup(organization=org, code="99213", on_date=date(2026, 1, 1)).price == Decimal("110.00")


def test_fee_lookup_by_modifiers_falls_back_to_the_plain_price(org, priced):
    assert fee_lookup(organization=org, code="99213", modifiers="25", on_date=date(2026, 3, 1)).price == Decimal("112.00")
    fallback = fee_lookup(organization=org, code="93000", modifiers="26", on_date=date(2026, 3, 1))
    assert fallback.price == Decimal("65.00") and fallback.modifiers == ""
    # Before the modifier's own price starts, the plain price of that day applies.
    assert fee_lookup(organization=org, code="99213", modifiers="25", on_date=date(2025, 3, 1)).price == Decimal("100.00")


def test_fee_lookup_without_a_price_names_the_code(org, other_org, biller, priced):
    for code, day in [("99213", date(2024, 12, 31)), ("99999", date(2026, 1, 1)), ("", date(2026, 1, 1))]:
        with pytest.raises(ValidationError) as caught:
            fee_lookup(organization=org, code=code, on_date=day)
        assert "has no price on" in caught.value.message_dict["code"][0]
    with pytest.raises(ValidationError) as caught:
        fee_lookup(organization=other_org, code="99213", on_date=date(2026, 1, 1))
    assert "schedule" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        fee_lookup(organization=other_org, code="99213", on_date=date(2026, 1, 1), schedule=priced)
    assert "another practice" in caught.value.message_dict["schedule"][0]


def test_fee_lookup_in_a_named_schedule(org, biller, priced):
    contract = fee_schedule_create(organization=org, name="Contract", actor=biller)
    run(contract, biller, HEADER + "99213,,Visit,80.00,2026-01-01,\n")
    assert fee_lookup(organization=org, code="99213", on_date=date(2026, 2, 1), schedule=contract).price == Decimal("80.00")
    assert fee_lookup(organization=org, code="99213", on_date=date(2026, 2, 1)).price == Decimal("110.00")


def test_procedure_check(org, other_org, priced):
    assert procedure_check(organization=org, code=" 99213 ").code == "99213"
    ProcedureCode.objects.filter(code="93000").update(is_active=False)
    for organization, code, words in [(org, "93000", "no longer in use"), (org, "12345", "not on the practice's"),
                                      (other_org, "99213", "not on the practice's")]:
        with pytest.raises(ValidationError) as caught:
            procedure_check(organization=organization, code=code)
        assert code in caught.value.message_dict["code"][0] and words in caught.value.message_dict["code"][0]


# --- demo --------------------------------------------------------------------------------------------------


def test_the_demo_seed_is_idempotent(org):
    class Ctx:
        organization = org
        users = {}

    class Out:
        lines: list[str] = []

        def write(self, text):
            self.lines.append(text)

    assert seed_codes(Ctx, stdout=Out()) == len(PROCEDURES)
    audits = AuditEvent.objects.count()
    assert seed_codes(Ctx, stdout=Out()) == 0
    assert AuditEvent.objects.count() == audits
    assert Fee.objects.filter(organization=org).count() == len(PROCEDURES)
    assert ProcedureCode.objects.filter(organization=org, code_system=CodeSystem.HCPCS).count() == 5
    assert fee_lookup(organization=org, code="99214", modifiers="25", on_date=date(2026, 5, 1)).price == Decimal("165.00")


@pytest.mark.postgres
def test_postgresql_refuses_overlapping_fees_that_skip_the_checks(org, biller, schedule):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the exclusion constraint exists on PostgreSQL only (set DATABASE_URL=postgres://…); "
                    "on SQLite the import's own check inside the write transaction is the guard")
    run(schedule, biller, HEADER + "99213,,Visit,100.00,2026-01-01,\n")
    procedure = ProcedureCode.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Fee.objects.create(organization=org, schedule=schedule, procedure=procedure, modifiers="", price=Decimal("1"),
                           effective_from=date(2027, 1, 1))
    # Adjacent dates and other modifiers are fine.
    Fee.objects.filter(procedure=procedure).update(effective_to=date(2026, 12, 31))
    Fee.objects.create(organization=org, schedule=schedule, procedure=procedure, modifiers="", price=Decimal("1"),
                       effective_from=date(2027, 1, 1))
    Fee.objects.create(organization=org, schedule=schedule, procedure=procedure, modifiers="25", price=Decimal("1"),
                       effective_from=date(2026, 6, 1))
