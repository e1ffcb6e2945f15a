"""Reference schedules, contracts and their rate imports, the contract's allowed amount, and underpayments."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from clinicdesk.core.choices import Role
from clinicdesk.insurance.choices import ContractBasis
from clinicdesk.insurance.models import ContractRate, ReferenceRate, Remittance, RemittanceClaim, RemittanceLine
from clinicdesk.insurance.services.contracts import (
    contract_allowed,
    contract_rates_import,
    payer_contract_create,
    payer_contract_update,
    reference_schedule_create,
    reference_schedule_import,
    remittance_lines_check,
    underpayments_flag,
)

from .contracts_world import ClaimMaker, make_contract, make_payer, make_reference

pytestmark = pytest.mark.django_db
JAN = date(2026, 1, 1)


@pytest.fixture
def manager(make_user):
    return make_user(Role.OFFICE_MANAGER, username="manager1")


# --- reference schedule import ---------------------------------------------------------------------------------


def test_reference_import_dry_run_saves_nothing_then_import_saves(org, manager):
    # given
    schedule = reference_schedule_create(organization=org, name="Yardstick 2026", effective_from=JAN, actor=manager)
    text = "code,modifiers,amount\n99213,,100.00\n99214,25,150.5\n"
    # when
    preview = reference_schedule_import(schedule=schedule, file=text, actor=manager, dry_run=True)
    # then
    assert preview.counts["new"] == 2 and not preview.saved
    assert not ReferenceRate.objects.filter(schedule=schedule).exists()
    result = reference_schedule_import(schedule=schedule, file=text.encode(), actor=manager, dry_run=False)
    assert result.saved
    rates = {(r.procedure_code, r.modifiers): r.amount for r in schedule.rates.all()}
    assert rates == {("99213", ""): Decimal("100.00"), ("99214", "25"): Decimal("150.50")}
    again = reference_schedule_import(schedule=schedule, file="code,amount\n99213,100.00\n99214,1.00\n", actor=manager,
                                      dry_run=True)
    assert [r.outcome for r in again.rows] == ["unchanged", "new"]


@pytest.mark.parametrize(("body", "expected"), [
    ("99213,,-5.00", "Line 2, column amount: -5.00 is negative"),
    ("99213,,5.123", "Line 2, column amount: 5.123 has more than two decimals"),
    ("99213,,1e3", "Line 2, column amount: 1e3 is not a plain amount"),
    ("99213,,", "Line 2, column amount: an amount is required"),
    ("9921,,5.00", "Line 2, column code: 9921 is not a procedure code"),
    ("99213,ABC,5.00", "Line 2, column modifiers:"),
    ("99213,,5.00\n99213,,6.00", "Line 3, column code: the same code and modifiers as line 2"),
])
def test_reference_import_names_the_line_and_column(org, manager, body, expected):
    schedule = reference_schedule_create(organization=org, name="Y", effective_from=JAN, actor=manager)
    result = reference_schedule_import(schedule=schedule, file=f"code,modifiers,amount\n{body}\n", actor=manager,
                                       dry_run=False)
    assert not result.saved
    assert any(expected in r.message for r in result.errors)
    assert not ReferenceRate.objects.filter(schedule=schedule).exists()


@pytest.mark.parametrize(("text", "expected"), [
    ("", "The file is empty."),
    ("code,price\n99213,5.00\n", "lacks the column amount"),
    ("code,amount\n", "no rows"),
    (b"\xff\xfe\x00", "not UTF-8"),
])
def test_reference_import_refuses_bad_files(org, manager, text, expected):
    schedule = reference_schedule_create(organization=org, name="Y", effective_from=JAN, actor=manager)
    with pytest.raises(ValidationError) as caught:
        reference_schedule_import(schedule=schedule, file=text, actor=manager, dry_run=False)
    assert "file" in caught.value.message_dict
    assert expected in " ".join(caught.value.messages)


def test_reference_schedule_names_are_unique(org, manager):
    reference_schedule_create(organization=org, name="Y", effective_from=JAN, actor=manager)
    with pytest.raises(ValidationError) as caught:
        reference_schedule_create(organization=org, name="y", effective_from=JAN, actor=manager)
    assert "name" in caught.value.message_dict


# --- contracts -----------------------------------------------------------------------------------------------


def test_contracts_of_one_payer_may_not_overlap(org, manager):
    payer = make_payer(org)
    payer_contract_create(organization=org, payer=payer, name="2026", effective_from=JAN,
                          effective_to=date(2026, 12, 31), actor=manager)
    with pytest.raises(ValidationError) as caught:
        payer_contract_create(organization=org, payer=payer, name="Open", effective_from=date(2026, 12, 31), actor=manager)
    assert "effective_from" in caught.value.message_dict
    follow_on = payer_contract_create(organization=org, payer=payer, name="2027", effective_from=date(2027, 1, 1),
                                      actor=manager)
    with pytest.raises(ValidationError):
        payer_contract_update(contract=follow_on, actor=manager, effective_from=date(2026, 6, 1))
    other_payer = make_payer(org, "Other")
    payer_contract_create(organization=org, payer=other_payer, name="2026", effective_from=JAN, actor=manager)


def test_contract_refuses_half_a_percentage_and_another_practices_payer(org, other_org, manager):
    payer = make_payer(org)
    with pytest.raises(ValidationError) as caught:
        payer_contract_create(organization=org, payer=payer, name="P", effective_from=JAN,
                              basis=ContractBasis.PERCENT_OF_REFERENCE, percent_of_reference=Decimal("110"),
                              actor=manager)
    assert "percent_of_reference" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        payer_contract_create(organization=org, payer=make_payer(other_org), name="P", effective_from=JAN, actor=manager)
    assert "payer" in caught.value.message_dict


def test_contract_rates_import(org, manager):
    contract = make_contract(make_payer(org), rates={})
    text = "code,modifiers,amount\n99213,,88.00\n99213,25,90.00\n"
    assert contract_rates_import(contract=contract, file=text, actor=manager, dry_run=True).counts["new"] == 2
    assert not ContractRate.objects.filter(contract=contract).exists()
    assert contract_rates_import(contract=contract, file=text, actor=manager, dry_run=False).saved
    assert ContractRate.objects.filter(contract=contract).count() == 2


def test_contract_allowed_exact_modifiers_then_none_then_percentage(org):
    payer = make_payer(org)
    reference = make_reference(org, {"99213": "100.00", "99214": "150.00", ("99214", "25"): "155.55"})
    make_contract(payer, rates={"99213": "80.00", ("99213", "25"): "82.00"}, reference=reference, percent="110",
                  effective_to=date(2026, 12, 31))
    assert contract_allowed(payer, "99213", "25", JAN) == Decimal("82.00")
    assert contract_allowed(payer, "99213", "59", JAN) == Decimal("80.00")
    assert contract_allowed(payer, "99214", "", JAN) == Decimal("165.00")
    assert contract_allowed(payer, "99214", "25", JAN) == Decimal("171.11")  # 155.55 × 1.10 = 171.105, half up
    assert contract_allowed(payer, "99215", "", JAN) is None
    assert contract_allowed(payer, "99213", "", date(2027, 1, 1)) is None  # after the contract ended
    assert contract_allowed(payer, "99213", "", date(2025, 12, 31)) is None  # before it started


def test_fee_list_without_percentage_knows_only_its_codes(org):
    payer = make_payer(org)
    make_contract(payer, rates={"99213": "80.00"})
    assert contract_allowed(payer, "99214", "", JAN) is None


# --- underpayments -------------------------------------------------------------------------------------------


def test_underpayments_flag_claim_lines(org):
    # given: the contract allows 80.00 a unit
    payer = make_payer(org)
    make_contract(payer, rates={"99213": "80.00", "97110": "30.00"})
    claim = ClaimMaker(org).claim(payer, day=date(2026, 3, 2), lines=[
        ("99213", "", 1, "120.00", "75.00", "60.00"),    # 5.00 short
        ("97110", "", 3, "150.00", "90.00", "72.00"),    # 3 × 30.00 = 90.00: paid as agreed
        ("99215", "", 1, "200.00", "150.00", "120.00"),  # no contract rate
    ])
    # when
    underpaid = underpayments_flag(claim.lines.select_related("claim"))
    # then
    lines = {line.procedure_code: line for line in claim.lines.all()}
    assert [line.procedure_code for line in underpaid] == ["99213"]
    assert (lines["99213"].expected_allowed, lines["99213"].underpaid_amount) == (Decimal("80.00"), Decimal("5.00"))
    assert (lines["97110"].expected_allowed, lines["97110"].underpaid_amount) == (Decimal("90.00"), Decimal("0.00"))
    assert (lines["99215"].expected_allowed, lines["99215"].underpaid_amount) == (None, Decimal("0.00"))


def test_a_denied_line_is_not_an_underpayment(org):
    payer = make_payer(org)
    make_contract(payer, rates={"99213": "80.00"})
    claim = ClaimMaker(org).claim(payer, day=date(2026, 3, 2), lines=[("99213", "", 1, "120.00", "0.00", "0.00")])
    assert underpayments_flag(claim.lines.select_related("claim")) == []
    assert claim.lines.get().expected_allowed == Decimal("80.00")


def test_remittance_lines_check(org):
    # given: a posted remittance with one underpaid line, one paid as agreed and one reversal
    payer = make_payer(org)
    make_contract(payer, rates={"99213": "80.00", "97110": "30.00"})
    claim = ClaimMaker(org).claim(payer, day=date(2026, 3, 2), lines=[
        ("99213", "", 1, "120.00", "70.00", "56.00"), ("97110", "", 2, "100.00", "60.00", "48.00")])
    first, second = claim.lines.all()
    remittance = Remittance.objects.create(organization=org, payer=payer, payer_name=payer.name, check_number="EFT1",
                                           total_paid=Decimal("104.00"), sha256="a" * 64)
    paid = RemittanceClaim.objects.create(remittance=remittance, claim=claim, claim_number=claim.claim_number,
                                          status_code="1", charge=Decimal("220.00"), paid=Decimal("104.00"))
    reversal = RemittanceClaim.objects.create(remittance=remittance, claim=claim, claim_number=claim.claim_number,
                                              status_code="22", charge=Decimal("-220.00"), paid=Decimal("-50.00"))
    short = RemittanceLine.objects.create(remittance_claim=paid, claim_line=first, procedure_code="99213",
                                          charge=Decimal("120.00"), paid=Decimal("56.00"), allowed=Decimal("70.00"),
                                          service_date=date(2026, 3, 2))
    fine = RemittanceLine.objects.create(remittance_claim=paid, claim_line=second, procedure_code="97110",
                                         charge=Decimal("100.00"), paid=Decimal("48.00"), allowed=Decimal("60.00"),
                                         units=Decimal("2"))
    reversed_line = RemittanceLine.objects.create(remittance_claim=reversal, procedure_code="99213",
                                                  charge=Decimal("-120.00"), paid=Decimal("-50.00"),
                                                  allowed=Decimal("-50.00"))
    # when
    underpaid = remittance_lines_check(remittance)
    # then
    assert [line.pk for line in underpaid] == [short.pk]
    short.refresh_from_db()
    fine.refresh_from_db()
    reversed_line.refresh_from_db()
    first.refresh_from_db()
    assert (short.expected_allowed, short.underpaid_amount) == (Decimal("80.00"), Decimal("10.00"))
    assert (fine.expected_allowed, fine.underpaid_amount) == (Decimal("60.00"), Decimal("0.00"))
    assert reversed_line.expected_allowed is None
    assert (first.expected_allowed, first.underpaid_amount) == (Decimal("80.00"), Decimal("10.00"))


def test_remittance_line_without_allowed_uses_charge_less_contractual(org):
    from clinicdesk.insurance.models import RemittanceAdjustment

    payer = make_payer(org)
    make_contract(payer, rates={"99213": "80.00"})
    remittance = Remittance.objects.create(organization=org, payer=payer, payer_name=payer.name, check_number="EFT2",
                                           total_paid=Decimal("50.00"), sha256="b" * 64)
    rc = RemittanceClaim.objects.create(remittance=remittance, claim_number="X1", status_code="1",
                                        charge=Decimal("120.00"), paid=Decimal("50.00"))
    line = RemittanceLine.objects.create(remittance_claim=rc, procedure_code="99213", charge=Decimal("120.00"),
                                         paid=Decimal("50.00"), service_date=date(2026, 4, 1))
    RemittanceAdjustment.objects.create(remittance_claim=rc, line=line, group_code="CO", reason_code="45",
                                        amount=Decimal("50.00"))
    remittance_lines_check(remittance)
    line.refresh_from_db()
    assert (line.expected_allowed, line.underpaid_amount) == (Decimal("80.00"), Decimal("10.00"))
