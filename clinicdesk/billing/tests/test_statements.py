"""Statement runs: who gets a statement, the figures on it (checked in the PDF text), dunning over several runs,
small-balance write-offs, e-mail or print, repeat execution and progress."""

import subprocess  # noqa: S404  (pdftotext, a fixed command)
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from freezegun import freeze_time

from clinicdesk.billing.choices import (
    AdjustmentKind,
    DunningLevel,
    PaymentMethod,
    StatementDelivery,
    StatementRunStatus,
    StatementSkipReason,
    StatementStatus,
)
from clinicdesk.billing.models import AccountDunning, Adjustment, Statement, StatementRun
from clinicdesk.billing.services.payments import adjustment_post, payment_post
from clinicdesk.billing.services.statements import (
    dunning_policy_for,
    dunning_policy_save,
    print_batch_bytes,
    statement_pdf_read,
    statement_run_create,
    statement_run_execute,
    statement_run_preview,
    statement_run_start,
)
from clinicdesk.communications.choices import MessagePurpose
from clinicdesk.communications.models import ActionLink, Message
from clinicdesk.ledger.selectors import patient_balance
from clinicdesk.patients.choices import Channel, ConsentStatus
from clinicdesk.patients.models import CommunicationConsent

D = Decimal
pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)  # noqa: S607
    return " ".join(done.stdout.decode().split())


def run_once(world, statement_date: date, **kwargs) -> StatementRun:
    run = statement_run_create(actor=world.biller, organization=world.org, statement_date=statement_date, **kwargs)
    statement_run_start(actor=world.biller, run=run)
    return statement_run_execute(run_id=run.pk)


def pay(account, amount: str, on: date, world, key: str):
    return payment_post(account=account, amount=amount, method=PaymentMethod.CASH, idempotency_key=key,
                        actor=world.biller, received_on=on)


@freeze_time("2026-11-27 15:00:00")
def test_figures_on_two_statements_match_the_hand_worked_numbers(statement_world):
    # given: Ada owes for an August visit and October lab work, paid some, got a contractual and a courtesy adjustment
    w = statement_world
    ada, account = w.guarantor("Lovelace", first_name="Ada")
    visit = w.charge(ada, "200.00", service_date=date(2026, 8, 10), description="Office visit, established")
    lab = w.charge(ada, "150.00", service_date=date(2026, 10, 5), description="Lab work")
    pay(account, "50.00", date(2026, 10, 20), w, "p1")  # oldest first: the visit, 200 -> 150
    adjustment_post(item=lab, amount="30.00", kind=AdjustmentKind.CONTRACTUAL, reason="Plan allowance", actor=w.biller,
                    entry_date=date(2026, 10, 25))
    adjustment_post(item=visit, amount="10.00", kind=AdjustmentKind.COURTESY, reason="Courtesy", actor=w.biller,
                    entry_date=date(2026, 10, 26))

    # when: the October run
    first = run_once(w, date(2026, 10, 31))

    # then: 0 + 350 - 30 - 50 - 10 = 260; the visit (82 days) is 61-90, the lab work (26 days) current
    s1 = Statement.objects.get(run=first, account=account)
    assert (s1.previous_balance, s1.new_charges, s1.insurance_adjusted, s1.payments, s1.adjustments, s1.amount_due) == (
        D("0.00"), D("350.00"), D("30.00"), D("50.00"), D("10.00"), D("260.00"))
    assert (s1.aging_current, s1.aging_31_60, s1.aging_61_90, s1.aging_91_120, s1.aging_over_120) == (
        D("120.00"), D("0.00"), D("140.00"), D("0.00"), D("0.00"))
    assert s1.dunning_level == DunningLevel.FIRST
    text = pdf_text(statement_pdf_read(statement=s1))
    assert "Amount due: $260.00" in text
    assert "Ada Lovelace 12 Elm Street Springfield, IL 62701" in text
    assert "08/10/2026 Office visit, established $200.00 $50.00 $10.00 $140.00" in text
    assert "10/05/2026 Lab work $150.00 $30.00 $120.00" in text
    assert "$120.00 $0.00 $140.00 $0.00 $0.00 $260.00" in text  # the aging row
    assert "Online: http://" in text and "/m/" in text and "Please detach and return" in text

    # given: November brings a flu shot and a check of 100 (the visit: 140 -> 40)
    w.charge(ada, "80.00", service_date=date(2026, 11, 10), description="Flu shot")
    pay(account, "100.00", date(2026, 11, 15), w, "p2")

    # when: the November run
    second = run_once(w, date(2026, 11, 30))

    # then: 260 + 80 - 100 = 240; 40 is 112 days old, 120 is 56 days, 80 is 20 days; second notice after 30 days
    s2 = Statement.objects.get(run=second, account=account)
    assert (s2.previous_balance, s2.new_charges, s2.payments, s2.amount_due) == (D("260.00"), D("80.00"), D("100.00"), D("240.00"))
    assert (s2.aging_current, s2.aging_31_60, s2.aging_61_90, s2.aging_91_120) == (D("80.00"), D("120.00"), D("0.00"), D("40.00"))
    assert s2.period_start == date(2026, 11, 1)
    assert s2.dunning_level == DunningLevel.SECOND
    text = pdf_text(statement_pdf_read(statement=s2))
    assert "Summary (since 11/01/2026)" in text
    assert "$260.00 $80.00 $0.00 $100.00 $0.00 $240.00" in text
    assert "08/10/2026 Office visit, established $100.00 $40.00" in text
    assert "11/10/2026 Flu shot $80.00 $80.00" in text
    assert "Lab work" not in text  # no activity on it since the last statement
    assert "Second notice" in text
    assert s2.amount_due == patient_balance(patient=ada, as_of=date(2026, 11, 30))


@freeze_time("2026-11-27 15:00:00")
def test_selection_rules_and_preview_counts(statement_world):
    # given: one account of each kind
    w = statement_world
    dunning_policy_save(actor=w.biller, organization=w.org, minimum_statement_balance="10.00", write_off_below="5.00",
                        write_off_min_age_days=60)
    owes, _ = w.guarantor("Owes")
    w.charge(owes, "120.00", service_date=date(2026, 11, 2))
    small_new, _ = w.guarantor("Smallnew")
    w.charge(small_new, "3.00", service_date=date(2026, 11, 2))  # too new to write off, below the minimum
    small_old, small_old_account = w.guarantor("Smallold")
    w.charge(small_old, "4.50", service_date=date(2026, 8, 1))  # written off
    held, held_account = w.guarantor("Held")
    w.charge(held, "500.00", service_date=date(2026, 11, 2))
    held_account.collections_hold = True
    held_account.save(update_fields=["collections_hold"])
    credit, credit_account = w.guarantor("Credit")
    payment_post(account=credit_account, amount="25.00", method=PaymentMethod.CASH, idempotency_key="credit-1",
                 actor=w.biller, received_on=date(2026, 11, 2), allow_credit=True, patient=credit)
    nowhere, _ = w.guarantor("Nowhere", email=False, address=False)
    w.charge(nowhere, "60.00", service_date=date(2026, 11, 2))
    paper, _ = w.guarantor("Paper", email=False)
    w.charge(paper, "70.00", service_date=date(2026, 11, 2))
    w.guarantor("Zero")

    # when
    preview = statement_run_preview(organization=w.org, statement_date=date(2026, 11, 30))

    # then
    assert preview["statements"] == 2 and preview["email"] == 1 and preview["print"] == 1
    assert preview["write_offs"] == 1
    assert preview["skipped"] == {StatementSkipReason.BELOW_MINIMUM: 1, StatementSkipReason.COLLECTIONS_HOLD: 1,
                                  StatementSkipReason.NO_ADDRESS: 1, StatementSkipReason.CREDIT: 1}
    assert preview["total_due"] == "190.00"

    # when: the run goes
    run = run_once(w, date(2026, 11, 30))

    # then: the small old balance is written off with a small-balance adjustment; nothing else changed hands
    assert run.status == StatementRunStatus.DONE
    assert (run.emailed_count, run.printed_count, run.written_off_count, run.skipped_count) == (1, 1, 1, 4)
    assert run.total_due == D("190.00")
    assert patient_balance(patient=small_old) == D("0.00")
    adjustment = Adjustment.objects.get(patient=small_old)
    assert (adjustment.kind, adjustment.amount) == (AdjustmentKind.SMALL_BALANCE, D("4.50"))
    reasons = {row["name"]: row["reason"] for row in run.skipped}
    assert reasons[small_old_account.guarantor_name] == StatementSkipReason.WRITTEN_OFF
    assert reasons[held_account.guarantor_name] == StatementSkipReason.COLLECTIONS_HOLD

    # and: a statement within the days since the last one is skipped as recent
    later = statement_run_preview(organization=w.org, statement_date=date(2026, 12, 10))
    assert later["statements"] == 0 and later["skipped"][StatementSkipReason.RECENT] == 2


@freeze_time("2026-11-27 15:00:00")
def test_email_where_allowed_print_for_the_rest(statement_world):
    # given: an e-mail guarantor, one who opted out of e-mail, one who asked for mail, one without e-mail
    w = statement_world
    by_email, _ = w.guarantor("Byemail")
    opted_out, _ = w.guarantor("Optedout")
    CommunicationConsent.objects.create(patient=opted_out, channel=Channel.EMAIL, status=ConsentStatus.OPTED_OUT)
    wants_mail, _ = w.guarantor("Wantsmail", preferred_channel=Channel.MAIL)
    no_email, _ = w.guarantor("Noemail", email=False)
    for patient in (by_email, opted_out, wants_mail, no_email):
        w.charge(patient, "40.00", service_date=date(2026, 11, 2))

    # when
    run = run_once(w, date(2026, 11, 30))

    # then: one e-mail through the outbox with the pay link; three statements in the print batch
    delivery = dict(Statement.objects.filter(run=run).values_list("account__guarantor_name", "delivery"))
    assert delivery == {by_email.first_name + " Byemail": StatementDelivery.EMAIL,
                        opted_out.first_name + " Optedout": StatementDelivery.PRINT,
                        wants_mail.first_name + " Wantsmail": StatementDelivery.PRINT,
                        no_email.first_name + " Noemail": StatementDelivery.PRINT}
    emailed = Statement.objects.get(run=run, delivery=StatementDelivery.EMAIL)
    message = Message.objects.get(purpose=MessagePurpose.STATEMENT)
    assert emailed.message == message and message.patient == by_email and message.to_address == by_email.email
    assert emailed.pay_link.action == "pay" and emailed.pay_link.patient == by_email
    assert "$40.00" in message.body and "/m/" in message.body
    batch = pdf_text(print_batch_bytes(run=run))
    assert batch.count("STATEMENT") == 3 and "Optedout" in batch and "Byemail" not in batch
    assert ActionLink.objects.filter(action="pay").count() == 4


@freeze_time("2026-11-27 15:00:00")
def test_second_execute_of_a_finished_run_does_nothing(statement_world):
    w = statement_world
    patient, _ = w.guarantor("Twice")
    w.charge(patient, "90.00", service_date=date(2026, 11, 2))
    run = run_once(w, date(2026, 11, 30))
    before = (Statement.objects.count(), Message.objects.count(), ActionLink.objects.count())

    again = statement_run_execute(run_id=run.pk)

    assert again.status == StatementRunStatus.DONE
    assert (Statement.objects.count(), Message.objects.count(), ActionLink.objects.count()) == before
    with pytest.raises(ValidationError):
        statement_run_start(actor=w.biller, run=run)


@freeze_time("2026-11-27 15:00:00")
def test_an_interrupted_run_resumes_without_a_second_statement(statement_world, monkeypatch):
    # given: three accounts; making the third statement fails the first time
    w = statement_world
    for name in ("Aaa", "Bbb", "Ccc"):
        patient, _ = w.guarantor(name)
        w.charge(patient, "30.00", service_date=date(2026, 11, 2))
    run = statement_run_create(actor=w.biller, organization=w.org, statement_date=date(2026, 11, 30))
    statement_run_start(actor=w.biller, run=run)
    from clinicdesk.billing.services import statements as service

    monkeypatch.setattr(service, "CHUNK", 2)
    real = service._statement_make
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "_statement_make", flaky)

    # when: the first attempt fails after the first chunk
    with pytest.raises(RuntimeError):
        statement_run_execute(run_id=run.pk)
    run.refresh_from_db()

    # then: the first chunk's progress is kept and the failure is recorded
    assert run.status == StatementRunStatus.FAILED and "disk full" in run.error
    assert (run.progress_done, run.progress_total) == (2, 3)
    assert Statement.objects.filter(run=run).count() == 2

    # when: the office retries (back to running) and the task runs again
    statement_run_start(actor=w.biller, run=run)
    done = statement_run_execute(run_id=run.pk)

    # then: one statement per account, progress complete
    assert done.status == StatementRunStatus.DONE
    assert Statement.objects.filter(run=run).count() == 3
    assert (done.progress_done, done.progress_total) == (3, 3)


def test_dunning_progression_over_several_runs_and_reset_when_paid(statement_world):
    w = statement_world
    with freeze_time("2026-09-30 15:00:00"):
        slow, slow_account = w.guarantor("Slowpayer")
        w.charge(slow, "300.00", service_date=date(2026, 9, 2))
        payer, payer_account = w.guarantor("Payer")
        w.charge(payer, "100.00", service_date=date(2026, 9, 2))
        run_once(w, date(2026, 9, 30))
    with freeze_time("2026-10-31 15:00:00"):
        pay(payer_account, "100.00", date(2026, 10, 15), w, "payer-1")
        october = run_once(w, date(2026, 10, 31))
    with freeze_time("2026-11-30 15:00:00"):
        w.charge(payer, "50.00", service_date=date(2026, 11, 20))
        november = run_once(w, date(2026, 11, 30))
    with freeze_time("2026-12-31 15:00:00"):
        december = run_once(w, date(2026, 12, 31))
        later = statement_run_preview(organization=w.org, statement_date=date(2026, 12, 31), days_since_last=0)

    levels = list(Statement.objects.filter(account=slow_account).order_by("statement_date").values_list("dunning_level", flat=True))
    # 0, 31, 61 days after the first statement; at 92 days the account goes on collections hold instead
    assert levels == [DunningLevel.FIRST, DunningLevel.SECOND, DunningLevel.FINAL]
    assert not Statement.objects.filter(run=december, account=slow_account).exists()
    slow_account.refresh_from_db()
    assert slow_account.collections_hold
    assert AccountDunning.objects.get(account=slow_account).level == DunningLevel.COLLECTIONS
    assert [row["reason"] for row in december.skipped if row["account_id"] == slow_account.pk] == [StatementSkipReason.HOLD_PLACED]
    final = Statement.objects.get(account=slow_account, dunning_level=DunningLevel.FINAL)
    assert "FINAL NOTICE" in pdf_text(statement_pdf_read(statement=final))
    # The payer paid in October: the cycle reset, so November's new charge starts again at a first notice.
    assert not Statement.objects.filter(run=october, account=payer_account).exists()
    assert Statement.objects.get(run=november, account=payer_account).dunning_level == DunningLevel.FIRST
    assert later["skipped"].get(StatementSkipReason.COLLECTIONS_HOLD) == 1


@freeze_time("2026-11-27 15:00:00")
def test_progress_is_stored_on_the_run_and_the_task_runs_the_service(statement_world, settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    w = statement_world
    for name in ("One", "Two", "Three"):
        patient, _ = w.guarantor(name)
        w.charge(patient, "30.00", service_date=date(2026, 11, 2))
    run = statement_run_create(actor=w.biller, organization=w.org, statement_date=date(2026, 11, 30))
    assert (run.status, run.progress_done, run.progress_total, run.percent) == (StatementRunStatus.DRAFT, 0, 3, 0)

    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        statement_run_start(actor=w.biller, run=run)

    run.refresh_from_db()
    assert (run.status, run.progress_done, run.progress_total, run.percent) == (StatementRunStatus.DONE, 3, 3, 100)
    assert Statement.objects.filter(run=run, status=StatementStatus.EMAILED).count() == 3


def test_policy_refuses_days_out_of_order_and_float_amounts(statement_world):
    w = statement_world
    with pytest.raises(ValidationError) as error:
        dunning_policy_save(actor=w.biller, organization=w.org, second_notice_days=70, final_notice_days=60)
    assert "final_notice_days" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        dunning_policy_save(actor=w.biller, organization=w.org, write_off_below=2.5)
    assert "write_off_below" in error.value.message_dict
    policy = dunning_policy_save(actor=w.biller, organization=w.org, write_off_below="2.50")
    assert dunning_policy_for(organization=w.org).write_off_below == D("2.50") == policy.write_off_below


@freeze_time("2026-11-27 15:00:00")
def test_cutoff_after_the_statement_date_is_refused(statement_world):
    w = statement_world
    with pytest.raises(ValidationError) as error:
        statement_run_create(actor=w.biller, organization=w.org, statement_date=date(2026, 11, 20), cutoff=date(2026, 11, 21))
    assert "cutoff" in error.value.message_dict


def test_demo_seed_makes_one_finished_run_and_is_idempotent(settings, tmp_path):
    from clinicdesk.billing.demo_statements import seed_statements
    from clinicdesk.core import demo as core_demo
    from clinicdesk.patients.tests.factories import PatientFactory

    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None}}}
    ctx = core_demo.seed()
    for n in range(12):
        PatientFactory(organization=ctx.organization, address_line1=f"{n} Demo Lane", city="Springfield", postal_code="62701")

    first = seed_statements(ctx, patients=12, seed=7)
    again = seed_statements(ctx, patients=12, seed=7)

    run = StatementRun.objects.get(organization=ctx.organization)
    assert run.status == StatementRunStatus.DONE and run.emailed_count + run.printed_count >= 8
    assert run.written_off_count == 1  # the one small old balance
    assert first > 0 and again == 0


def test_names_outside_latin_1_print_with_an_embedded_font():
    from clinicdesk.billing.statement_pdf import statement_pdf_bytes

    figures = {"practice": {"name": "Riverside", "address": ["1 Main St"], "phone": "555"}, "account_number": "A1",
               "statement_date": "2026-11-30", "due_date": "2026-12-21", "period_start": "", "address": ["Nguyễn Thị Łukasz"],
               "previous_balance": "0.00", "new_charges": "10.00", "insurance_adjusted": "0.00", "payments": "0.00",
               "adjustments": "0.00", "balance": "10.00", "insurance_pending": "0.00", "amount_due": "10.00",
               "aging": {"current": "10.00", "31_60": "0.00", "61_90": "0.00", "91_120": "0.00", "over_120": "0.00"},
               "patients": [{"name": "Nguyễn Thị", "rows": [{"date": "2026-11-02", "description": "Office visit",
                                                              "charge": "10.00", "insurance": "0", "payments": "0",
                                                              "adjustments": "0", "balance": "10.00"}]}],
               "dunning_message": ""}
    text = pdf_text(statement_pdf_bytes(figures))
    assert "Nguyễn Thị Łukasz" in text and "11/02/2026 Office visit $10.00 $10.00" in text


@freeze_time("2026-11-27 15:00:00")
def test_a_small_balance_with_a_credit_beside_it_is_not_written_off(statement_world):
    from clinicdesk.ledger.choices import AccountRole, EntryKind
    from clinicdesk.ledger.services import LineSpec, entry_post

    # given: 4.00 owed for an old visit and 1.00 of unapplied credit: 3.00 due, below the write-off threshold
    w = statement_world
    patient, _ = w.guarantor("Creditbeside")
    w.charge(patient, "4.00", service_date=date(2026, 7, 1))
    entry_post(organization=w.org, entry_date=date(2026, 11, 2), kind=EntryKind.PAYMENT, lines=[
        LineSpec(account=AccountRole.CASH, amount=D("1.00"), patient=patient),
        LineSpec(account=AccountRole.PATIENT_CREDIT, amount=D("-1.00"), patient=patient)])

    # when
    run = run_once(w, date(2026, 11, 30))

    # then: nothing is written off (it would leave the credit behind); the account is listed for a person to see
    assert not Adjustment.objects.filter(patient=patient).exists()
    assert run.written_off_count == 0
    assert [row["note"] for row in run.skipped] == ["Not written off: the account also holds a credit"]
    assert patient_balance(patient=patient) == D("3.00")
