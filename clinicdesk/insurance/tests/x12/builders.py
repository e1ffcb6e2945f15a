"""Dataclass inputs for the writers' tests: a practice, its patients and payers, claims and remittances."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from clinicdesk.insurance.x12.records import Address, Adjustment
from clinicdesk.insurance.x12.segments import Envelope
from clinicdesk.insurance.x12.x835 import (
    BankAccounts,
    ClaimPayment,
    ProviderAdjustment,
    RemitParty,
    Remittance,
    ServiceLinePayment,
)
from clinicdesk.insurance.x12.x837p import (
    BillingProvider,
    Claim,
    LineAdjudication,
    OtherPayer,
    Patient,
    Payer,
    Receiver,
    RenderingProvider,
    ServiceLine,
    Submitter,
    Subscriber,
)

NOW = datetime(2026, 11, 27, 9, 30)
CLINIC_NPI = "1234567893"
DOCTOR_NPI = "1245319599"
HOME = Address("2 ELM ST", "AUSTIN", "TX", "78701")


def envelope(control: int = 5, *, sender: str = "CLINIC1", receiver: str = "CLEARING") -> Envelope:
    return Envelope(sender_id=sender, receiver_id=receiver, interchange_control_number=control,
                    group_control_number=control, created=NOW, usage="T")


SUBMITTER = Submitter("SUNRISE CLINIC", "SUB1", "BILLING OFFICE", "5125550100")
RECEIVER = Receiver("TEST CLEARINGHOUSE", "CH1")
CLINIC = BillingProvider(CLINIC_NPI, "SUNRISE CLINIC", "741234567", Address("1 MAIN ST", "AUSTIN", "TX", "787011234"),
                         "207Q00000X")
DOCTOR = RenderingProvider(DOCTOR_NPI, "SMITH", "ANN", "207Q00000X")
ACME = Payer("12345", "ACME HEALTH")
FIRST = Payer("99999", "FIRST HEALTH")
JANE = Subscriber("M123", "DOE", "JANE", date(1980, 1, 2), "F", HOME, group_number="G77")
TIM = Patient("DOE", "TIM", date(2015, 3, 4), "M", HOME, "19")


def office_visit(claim_id: str, **changes) -> Claim:
    lines = (
        ServiceLine("99213", Decimal("125.00"), date(2026, 11, 20), modifiers=("25",), diagnosis_pointers=(1, 2)),
        ServiceLine("87880", Decimal("30.00"), date(2026, 11, 20)),
    )
    values = {
        "claim_id": claim_id, "billing_provider": CLINIC, "subscriber": JANE, "payer": ACME,
        "diagnosis_codes": ("J06.9", "R05"), "lines": lines, "rendering_provider": DOCTOR,
    }
    return Claim(**(values | changes))


def secondary_claim(claim_id: str) -> Claim:
    """A claim to ACME as secondary after FIRST paid 80 of 125 (45 written off ... 20 coinsurance left)."""
    primary_subscriber = Subscriber("P555", "DOE", "JANE", responsibility="P", group_number="PG1")
    secondary = Subscriber("M123", "DOE", "JANE", date(1980, 1, 2), "F", HOME, group_number="G77", responsibility="S")
    adjudication = LineAdjudication(
        "99999", Decimal("80"), "99213", Decimal("1"), date(2026, 11, 25),
        adjustments=(Adjustment("CO", "45", Decimal("25")), Adjustment("PR", "2", Decimal("20"))),
    )
    return Claim(
        claim_id=claim_id, billing_provider=CLINIC, subscriber=secondary, payer=ACME, diagnosis_codes=("J02.9",),
        lines=(ServiceLine("99213", Decimal("125"), date(2026, 11, 22), adjudications=(adjudication,)),),
        other_payers=(OtherPayer(FIRST, primary_subscriber, Decimal("80")),),
    )


def secondary_claim_with_claim_level_adjustments(claim_id: str) -> Claim:
    """A secondary claim whose primary adjudicated at the claim level only (a CAS in loop 2320)."""
    primary_subscriber = Subscriber("P555", "DOE", "JANE", responsibility="P", group_number="PG1")
    secondary = Subscriber("M123", "DOE", "JANE", date(1980, 1, 2), "F", HOME, group_number="G77", responsibility="S")
    adjustments = (Adjustment("CO", "45", Decimal("25")), Adjustment("PR", "1", Decimal("20")),
                   Adjustment("PR", "2", Decimal("5.50")))
    return Claim(
        claim_id=claim_id, billing_provider=CLINIC, subscriber=secondary, payer=ACME, diagnosis_codes=("J02.9",),
        lines=(ServiceLine("99213", Decimal("125"), date(2026, 11, 22)),),
        other_payers=(OtherPayer(FIRST, primary_subscriber, Decimal("74.50"), adjustments),),
    )


def remittance() -> Remittance:
    """A remittance paying one claim, reversing an earlier one, with interest added at the provider level."""
    paid = ClaimPayment(
        "C1", "1", Decimal("155"), Decimal("105"), Decimal("30"), "12", "PCN1", "11", "1", "DOE", "JANE", "M123",
        remark_codes=["MA01"], rendering_npi=DOCTOR_NPI,
        lines=[
            ServiceLinePayment("99213", Decimal("125"), Decimal("80"), modifiers=("25",),
                               service_from=date(2026, 11, 20), service_to=date(2026, 11, 20),
                               adjustments=[Adjustment("CO", "45", Decimal("15")),
                                            Adjustment("PR", "3", Decimal("30"))],
                               remark_codes=["N14"], allowed=Decimal("110")),
            ServiceLinePayment("87880", Decimal("30"), Decimal("25"), service_from=date(2026, 11, 20),
                               service_to=date(2026, 11, 20), adjustments=[Adjustment("CO", "45", Decimal("5"))]),
        ],
    )
    reversal = ClaimPayment(
        "C0", "22", Decimal("-100"), Decimal("-60"), Decimal("0"), "12", "PCN0", "11", "1", "DOE", "TIM", "M123",
        adjustments=[Adjustment("CO", "45", Decimal("-40"))],
    )
    return Remittance(
        payment_amount=Decimal("55.00"), credit_debit="C", payment_method="ACH", payment_date=date(2026, 11, 28),
        trace_number="EFT0001", payer_trace_id="1741234567",
        payer=RemitParty("ACME HEALTH", "", "12345", Address("9 PAYER WAY", "DALLAS", "TX", "75201"),
                         contact_phone="8005550100"),
        payee=RemitParty("SUNRISE CLINIC", "XX", CLINIC_NPI, None, {"TJ": "741234567"}),
        production_date=date(2026, 11, 27), claims=[paid, reversal],
        provider_adjustments=[ProviderAdjustment(CLINIC_NPI, date(2026, 12, 31), "L6", Decimal("-10"), "INT1")],
        bank=BankAccounts("011000015", "1234567", "1741234567", "021000021", "7654321"), control_number="0001",
    )
