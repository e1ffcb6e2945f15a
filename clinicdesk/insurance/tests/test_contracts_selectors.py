"""The payer scorecard and the negotiation packet against figures worked out by hand, the underpayments list,
and the cost estimate (its arithmetic checked with hypothesis)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from clinicdesk.core.choices import Role
from clinicdesk.insurance.choices import ClaimStatus, EligibilityStatus
from clinicdesk.insurance.models import EligibilityCheck
from clinicdesk.insurance.selectors.contracts import cost_estimate, estimate_shares, underpayment_list
from clinicdesk.insurance.selectors.scorecard import negotiation_packet, payer_scorecard
from clinicdesk.insurance.services.contracts import underpayments_flag

from .contracts_world import ClaimMaker, make_contract, make_payer, make_reference

pytestmark = pytest.mark.django_db
START, END = date(2026, 3, 1), date(2026, 3, 31)


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="biller1")


@pytest.fixture
def book(org):
    """Two payers' March claims, with the scorecard's figures worked out by hand below."""
    acme, zen = make_payer(org, "Acme Health"), make_payer(org, "Zenith Care")
    reference = make_reference(org, {"99213": "100.00", "97110": "40.00"})
    make_contract(acme, rates={"99213": "90.00"}, reference=reference, percent="100")
    make_contract(zen, reference=reference, percent="80")
    maker = ClaimMaker(org)
    d = START
    # Acme: 4 claims. Paid after 10, 20 and 40 days; one denied; a draft and a claim of April do not count.
    maker.claim(acme, day=d, lines=[("99213", "", 1, "150.00", "85.00", "68.00")], submitted=d,
                adjudicated=d + timedelta(days=10))
    maker.claim(acme, day=d, lines=[("99213", "", 1, "150.00", "90.00", "72.00"),
                                    ("97110", "", 2, "120.00", "70.00", "56.00")], submitted=d,
                adjudicated=d + timedelta(days=20))
    maker.claim(acme, day=d, lines=[("97110", "", 1, "60.00", "40.00", "40.00")], submitted=d,
                adjudicated=d + timedelta(days=40), status=ClaimStatus.PARTIALLY_PAID)
    maker.claim(acme, day=d, lines=[("99213", "", 1, "150.00", "0.00", "0.00")], submitted=d,
                adjudicated=d + timedelta(days=5), status=ClaimStatus.DENIED)
    maker.claim(acme, day=d, lines=[("99213", "", 1, "150.00", "0.00", "0.00")], status=ClaimStatus.DRAFT)
    maker.claim(acme, day=date(2026, 4, 2), lines=[("99213", "", 1, "150.00", "90.00", "72.00")], submitted=d,
                adjudicated=d + timedelta(days=40))
    # Zenith: 2 claims, one waiting (submitted, not adjudicated).
    maker.claim(zen, day=d, lines=[("99213", "", 1, "150.00", "70.00", "56.00")], submitted=d,
                adjudicated=d + timedelta(days=15))
    maker.claim(zen, day=d, lines=[("99213", "", 1, "150.00", "0.00", "0.00")], submitted=d,
                status=ClaimStatus.SUBMITTED)
    from clinicdesk.insurance.models import ClaimLine

    underpayments_flag(ClaimLine.objects.select_related("claim"))
    return {"acme": acme, "zen": zen, "reference": reference}


def test_scorecard_against_hand_computed_figures(book, biller):
    card = payer_scorecard(user=biller, start=START, end=END)
    acme, zen = card.payers
    assert (acme.payer_name, zen.payer_name) == ("Acme Health", "Zenith Care")
    assert acme.claims == 4
    assert acme.billed == Decimal("630.00")   # 150 + 270 + 60 + 150
    assert acme.allowed == Decimal("285.00")  # 85 + 160 + 40
    assert acme.paid == Decimal("236.00")     # 68 + 128 + 40
    assert (acme.adjudicated, acme.denied, acme.denial_rate) == (4, 1, Decimal("25.0"))
    assert acme.average_days_to_pay == Decimal("23.3")  # (10 + 20 + 40) / 3; the denial is not a payment
    assert acme.median_days_to_pay == Decimal("20")
    # underpaid: 99213 at 85 vs 90 → 5; 97110 2 units at 70 vs 2 × 40 = 80 → 10; 97110 at 40 vs 40 → 0
    assert acme.underpaid == Decimal("15.00")
    # reference over allowed lines: 85+90+70+40 = 285 against 100+100+80+40 = 320
    assert (acme.reference_allowed, acme.reference_total) == (Decimal("285.00"), Decimal("320.00"))
    assert acme.percent_of_reference == Decimal("89.1")
    assert zen.claims == 2
    assert (zen.adjudicated, zen.denied, zen.denial_rate) == (1, 0, Decimal("0.0"))
    assert (zen.average_days_to_pay, zen.median_days_to_pay) == (Decimal("15.0"), Decimal("15"))
    assert zen.underpaid == Decimal("10.00")  # 80% of 100 = 80 against 70
    assert zen.percent_of_reference == Decimal("70.0")
    assert card.chart()["paid"] == ["236.00", "56.00"]


def test_scorecard_median_of_an_even_count(org, biller):
    payer = make_payer(org)
    maker = ClaimMaker(org)
    for days in (4, 10, 12, 30):
        maker.claim(payer, day=START, lines=[("99213", "", 1, "10.00", "5.00", "5.00")], submitted=START,
                    adjudicated=START + timedelta(days=days))
    score = payer_scorecard(user=biller, start=START, end=END).payers[0]
    assert (score.average_days_to_pay, score.median_days_to_pay) == (Decimal("14.0"), Decimal("11.0"))


def test_scorecard_sees_only_its_practice(book, other_org, make_user):
    outsider = make_user(Role.BILLER, organization=other_org, username="outsider")
    assert payer_scorecard(user=outsider, start=START, end=END).payers == []


def test_scorecard_query_count_does_not_grow_with_claims(book, biller, django_assert_max_num_queries):
    with django_assert_max_num_queries(7):
        payer_scorecard(user=biller, start=START, end=END)


def test_negotiation_packet(book, biller):
    packet = negotiation_packet(user=biller, start=START, end=END, top=2)
    assert [c.procedure_code for c in packet.codes] == ["99213", "97110"]  # 6 units against 3
    office_visit = packet.codes[0]
    assert office_visit.reference == Decimal("100.00")
    acme, zen = office_visit.payers
    assert acme.contract_allowed == Decimal("90.00") and zen.contract_allowed == Decimal("80.00")
    assert acme.lines == 3 and acme.average_allowed == Decimal("87.50")  # (85 + 90) / 2 allowed units
    assert acme.average_paid == Decimal("70.00")
    assert acme.percent_of_reference == Decimal("87.5")
    assert acme.denial_rate == Decimal("33.3")  # 1 of 3 adjudicated lines denied
    assert zen.denial_rate == Decimal("0.0") and zen.average_allowed == Decimal("70.00")
    summary = {s.payer_name: s for s in packet.summaries}
    # 97110: (70 + 40) / 3 units = 36.67 against 40.00 = 91.7%; 99213: 87.5%
    assert summary["Acme Health"].best_code == "97110" and summary["Acme Health"].worst_code == "99213"
    assert summary["Acme Health"].average_percent_of_reference == Decimal("89.6")


def test_underpayment_list(book, biller):
    lines = list(underpayment_list(user=biller))
    assert [(line.claim.payer.name, line.underpaid_amount) for line in lines] == [
        ("Acme Health", Decimal("5.00")), ("Acme Health", Decimal("10.00")), ("Zenith Care", Decimal("10.00"))]
    assert len(list(underpayment_list(user=biller, payer_id=book["zen"].pk))) == 1


# --- cost estimate -----------------------------------------------------------------------------------------


def test_cost_estimate_from_the_eligibility_answer(org):
    payer = make_payer(org)
    make_contract(payer, rates={"99213": "100.00", "36415": "20.00"})
    maker = ClaimMaker(org)
    coverage = maker.coverage(payer)
    EligibilityCheck.objects.create(organization=org, coverage=coverage, service_date=START,
                                    status=EligibilityStatus.ACTIVE, trace_number="T1", copay=Decimal("25.00"),
                                    coinsurance_percent=Decimal("20"), deductible_remaining=Decimal("50.00"),
                                    answered_at=timezone.now())
    estimate = cost_estimate(maker.patient, ["99213", "36415", "99999"], START)
    first, second, unknown = estimate.lines
    # 99213: 50 deductible, then 20% of 50 = 10, then the 25 copay; insurance 15
    assert (first.deductible, first.coinsurance, first.copay, first.insurance_pays) == (
        Decimal("50.00"), Decimal("10.00"), Decimal("25.00"), Decimal("15.00"))
    # 36415: deductible met, 20% of 20 = 4, copay already paid; insurance 16
    assert (second.patient_pays, second.insurance_pays) == (Decimal("4.00"), Decimal("16.00"))
    assert unknown.allowed is None
    assert estimate.patient_total == Decimal("89.00") and estimate.insurance_total == Decimal("31.00")
    assert any("99999" in a for a in estimate.assumptions)
    assert any("eligibility answer" in a for a in estimate.assumptions)


def test_cost_estimate_falls_back_to_the_card(org):
    payer = make_payer(org)
    make_contract(payer, rates={"99213": "100.00"})
    maker = ClaimMaker(org)
    coverage = maker.coverage(payer)
    coverage.copay, coverage.coinsurance_percent, coverage.deductible = Decimal("30"), Decimal("10"), Decimal("0")
    coverage.save(update_fields=["copay", "coinsurance_percent", "deductible"])
    estimate = cost_estimate(maker.patient, ["99213"], START)
    line = estimate.lines[0]
    assert (line.coinsurance, line.copay, line.insurance_pays) == (Decimal("10.00"), Decimal("30.00"), Decimal("60.00"))
    assert any("card on file" in a for a in estimate.assumptions)


def test_cost_estimate_without_coverage(org):
    maker = ClaimMaker(org)
    estimate = cost_estimate(maker.patient, ["99213"], START)
    assert estimate.coverage is None and estimate.patient_total == Decimal("0")
    assert "self-pay" in estimate.assumptions[0]


money = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999.99"), places=2)


@settings(max_examples=200, deadline=None)
@given(allowed=st.lists(money, min_size=1, max_size=6), copay=money,
       percent=st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2), deductible=money)
def test_estimate_shares_add_up_and_are_never_negative(allowed, copay, percent, deductible):
    shares = estimate_shares(allowed, copay=copay, coinsurance_percent=percent, deductible_remaining=deductible)
    for amount, (d, c, p, insurance) in zip(allowed, shares, strict=True):
        assert d + c + p + insurance == amount
        assert min(d, c, p, insurance) >= 0
    assert sum(s[0] for s in shares) <= deductible
    assert sum(s[2] for s in shares) <= copay


def test_packet_contract_amounts_agree_with_contract_allowed(book, biller, django_assert_max_num_queries):
    from clinicdesk.insurance.services.contracts import contract_allowed

    with django_assert_max_num_queries(7 + 2):  # seven, and one per payer for the contract in force
        packet = negotiation_packet(user=biller, start=START, end=END, top=5)
    payers = {p.name: p for p in (book["acme"], book["zen"])}
    for code in packet.codes:
        for cell in code.payers:
            assert cell.contract_allowed == contract_allowed(payers[cell.payer_name], code.procedure_code, "", END)
