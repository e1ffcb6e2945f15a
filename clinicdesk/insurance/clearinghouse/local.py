"""The local test clearinghouse: a stand-in for a remote service that answers in the real X12 formats.

It knows nothing of the product's tables. It knows members only through its roster (`roster.json`, filled by the
demo and the tests with `roster_put`) and claims only through the 837 files it is sent. Its state lives in files
under CLEARINGHOUSE_LOCAL_DIR (var/clearinghouse by default), one folder per office and clearinghouse.

What it answers, deterministically:

- 270 → 271. A member on the roster (same payer id and member id, same last name) gets EB*1 (active) or EB*6
  (inactive) with the plan name, the office-visit copay (EB*B, service types 98 and 30, in network), the
  coinsurance (EB*A), the yearly deductible (EB*C, period 23) and what is left of it (period 29), and the
  out-of-pocket maximum (EB*G) with what is left. A member it does not know gets AAA*N**75*C (subscriber not
  found); a known member id with another last name gets AAA*N**73*C (invalid name).
- 837 → 999 and 277CA. A file that cannot be read is refused outright (ClearinghouseError). A readable one is
  accepted by the 999 (IK5*A for each transaction). On the 277CA a claim is rejected with STC A3:21 (missing or
  invalid information) naming the subscriber (IL) when its member is not on the roster for that payer, and with
  A3:178 when its charge is zero; every other claim is accepted (A2:20) with a payer claim number LCH + 9 digits.
- 835s for accepted claims, once each (`remittances_for`): each line is allowed 80 % of its charge (rounded to
  the cent), the other 20 % adjusted CO-45; the member's copay (from the roster) is taken from the first lines as
  PR-3 up to what they allow; the payer pays the rest. One 835 per payer, paid by check (CHK, number LCK + 9
  digits).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import asdict, dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from clinicdesk.insurance.x12.records import Address, Adjustment
from clinicdesk.insurance.x12.segments import Envelope, X12Error, read_interchange
from clinicdesk.insurance.x12.x270 import read_270
from clinicdesk.insurance.x12.x271 import Benefit, Eligibility, EligibilityResponse, Rejection, write_271
from clinicdesk.insurance.x12.x277ca import ClaimStatus, acknowledge_claims, write_277ca
from clinicdesk.insurance.x12.x835 import ClaimPayment, RemitParty, Remittance, ServiceLinePayment, write_835
from clinicdesk.insurance.x12.x837p import read_837p
from clinicdesk.insurance.x12.x999 import acknowledge, write_999

from .adapter import ClearinghouseError

ALLOWED_SHARE = Decimal("0.80")
CENT = Decimal("0.01")
ORIGINATOR = "9LOCALCH01"  # TRN03 of the answers: "9" and an id that is not an EIN
PAYER_PHONE = "8005550100"
# the simulated payers' claims office on every 835 (the 837 does not carry a payer's address)
PAYER_ADDRESS = Address(line1="PO BOX 1000", city="HARTFORD", state="CT", postal_code="061010001")
# CLP06 on the 835 takes fewer codes than SBR09 on the 837: commercial (CI) and Blue Cross (BL) become a PPO (12),
# anything else it does not know "other" (ZZ)
FILING_835 = frozenset(["12", "13", "14", "15", "16", "17", "AM", "CH", "DS", "HM", "LM", "MA", "MB", "MC", "OF",
                        "TV", "VA", "WC", "ZZ"])
_lock = threading.Lock()


@dataclass
class RosterMember:
    """A member as the payer knows them. Money as strings of dollars ("25.00"); empty when the plan has none."""

    payer_id: str
    member_id: str
    last_name: str
    first_name: str
    plan_name: str = ""
    active: bool = True
    copay: str = ""
    coinsurance_percent: str = ""
    deductible: str = ""
    deductible_met: str = "0"
    out_of_pocket: str = ""
    out_of_pocket_met: str = "0"
    birth_date: str = ""  # YYYY-MM-DD


def state_dir(clearinghouse) -> Path:
    base = Path(getattr(settings, "CLEARINGHOUSE_LOCAL_DIR", "") or Path(settings.VAR_DIR) / "clearinghouse")
    name = f"{clearinghouse.organization_id}-{clearinghouse.receiver_id}".replace("/", "_")
    return base / name


def _load(path: Path, default):
    if not path.exists():
        return default
    return json.loads(path.read_text(encoding="utf-8"))


def _save(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1, sort_keys=True)
    os.replace(temporary, path)


def _key(payer_id: str, member_id: str) -> str:
    return f"{payer_id.strip().upper()}|{member_id.strip().upper()}"


def roster_put(clearinghouse, member: RosterMember) -> None:
    """Add or replace a member on the clearinghouse's roster."""
    path = state_dir(clearinghouse) / "roster.json"
    with _lock:
        roster = _load(path, {})
        roster[_key(member.payer_id, member.member_id)] = asdict(member)
        _save(path, roster)


def roster_get(clearinghouse, payer_id: str, member_id: str) -> RosterMember | None:
    data = _load(state_dir(clearinghouse) / "roster.json", {}).get(_key(payer_id, member_id))
    return RosterMember(**data) if data else None


def _money(value: str) -> Decimal | None:
    return Decimal(value) if value not in ("", None) else None


def _filing_835(code: str) -> str:
    return code if code in FILING_835 else "12" if code in ("CI", "BL") else "ZZ"


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class LocalClearinghouse:
    """The local implementation of the clearinghouse interface (see the module's text for its rules)."""

    def __init__(self, clearinghouse) -> None:
        self.clearinghouse = clearinghouse
        self.directory = state_dir(clearinghouse)

    # ------------------------------------------------------------------------------------------------ helpers

    def _envelope(self, *, to: str, control: int) -> Envelope:
        return Envelope(sender_id=self.clearinghouse.receiver_id, receiver_id=to, interchange_control_number=control,
                        group_control_number=control, created=timezone.localtime().replace(tzinfo=None, microsecond=0),
                        usage=self.clearinghouse.usage or "T")

    def _next(self, name: str) -> int:
        path = self.directory / "counters.json"
        counters = _load(path, {})
        value = int(counters.get(name, 0)) + 1
        counters[name] = value
        _save(path, counters)
        return value

    # ------------------------------------------------------------------------------------------------ 270 → 271

    def send_270(self, content: str) -> str:
        try:
            interchange = read_interchange(content)
            inquiries = read_270(content)
        except X12Error as error:
            raise ClearinghouseError(f"The clearinghouse could not read the inquiry: {error}") from None
        if not inquiries:
            raise ClearinghouseError("The inquiry asks about nobody.")
        responses: dict[tuple[str, str], EligibilityResponse] = {}
        for inquiry in inquiries:
            response = responses.setdefault((inquiry.payer_id, inquiry.provider_npi), EligibilityResponse(
                payer_name=inquiry.payer_name, payer_id=inquiry.payer_id, provider_name=inquiry.provider_name,
                provider_id=inquiry.provider_npi, provider_id_qualifier=inquiry.provider_id_qualifier,
            ))
            response.subscribers.append(self._answer(inquiry))
        with _lock:
            control = self._next("interchange")
        return write_271(list(responses.values()),
                         envelope=self._envelope(to=interchange.sender_id, control=control), originator_id=ORIGINATOR)

    def _answer(self, inquiry) -> Eligibility:
        sub = inquiry.subscriber
        person = Eligibility(role="subscriber", last_name=sub.last_name, first_name=sub.first_name,
                             member_id=inquiry.member_id, birth_date=sub.birth_date, sex=sub.sex,
                             trace_numbers=[] if inquiry.dependent else [inquiry.trace_number])
        member = roster_get(self.clearinghouse, inquiry.payer_id, inquiry.member_id)
        if member is None:
            person.rejections.append(Rejection(reason="75", follow_up="C"))
            return person
        if member.last_name.strip().upper() != sub.last_name.strip().upper():
            person.rejections.append(Rejection(reason="73", follow_up="C"))
            return person
        benefits = self._benefits(member, inquiry.service_date)
        if inquiry.dependent is None:
            person.benefits = benefits
            return person
        dep = inquiry.dependent
        person.dependents.append(Eligibility(
            role="dependent", last_name=dep.last_name, first_name=dep.first_name, birth_date=dep.birth_date,
            sex=dep.sex, trace_numbers=[inquiry.trace_number], benefits=benefits))
        return person

    @staticmethod
    def _benefits(member: RosterMember, service_date: date) -> list[Benefit]:
        year = (date(service_date.year, 1, 1), date(service_date.year, 12, 31))
        if not member.active:
            return [Benefit(info="6", coverage_level="IND", service_types=("30",), plan_name=member.plan_name)]
        benefits = [Benefit(info="1", coverage_level="IND", service_types=("30",), plan_name=member.plan_name,
                            dates={"346": (year[0], None)})]
        copay = _money(member.copay)
        if copay is not None:
            benefits.append(Benefit(info="B", coverage_level="IND", service_types=("98",), time_period="27",
                                    amount=copay, in_network=True))
        coinsurance = _money(member.coinsurance_percent)
        if coinsurance is not None:
            benefits.append(Benefit(info="A", coverage_level="IND", service_types=("98",), time_period="27",
                                    percent=coinsurance / 100, in_network=True))
        for info, total, met in (("C", member.deductible, member.deductible_met),
                                 ("G", member.out_of_pocket, member.out_of_pocket_met)):
            amount = _money(total)
            if amount is None:
                continue
            benefits.append(Benefit(info=info, coverage_level="IND", service_types=("30",), time_period="23",
                                    amount=amount, in_network=True))
            left = max(amount - (_money(met) or Decimal("0")), Decimal("0"))
            benefits.append(Benefit(info=info, coverage_level="IND", service_types=("30",), time_period="29",
                                    amount=left, in_network=True))
        return benefits

    # ------------------------------------------------------------------------------------------- 837 → 999, 277CA

    def submit_837(self, content: str) -> tuple[str, str]:
        try:
            interchange = read_interchange(content)
            batch = read_837p(content)
        except X12Error as error:
            raise ClearinghouseError(f"The clearinghouse refused the file: {error}") from None
        today = timezone.localdate()
        with _lock:
            control = self._next("interchange")
            acks = [acknowledge(group) for group in interchange.groups]
            rejections: dict[str, list[ClaimStatus]] = {}
            numbers: dict[str, str] = {}
            accepted = _load(self.directory / "claims.json", [])
            for claim in batch.claims:
                if roster_get(self.clearinghouse, claim.payer.payer_id, claim.subscriber.member_id) is None:
                    rejections[claim.claim_id] = [ClaimStatus("A3", "21", "IL")]
                elif claim.total <= 0:
                    rejections[claim.claim_id] = [ClaimStatus("A3", "178")]
                else:
                    numbers[claim.claim_id] = f"LCH{self._next('claim'):09d}"
                    accepted.append(self._claim_record(claim, numbers[claim.claim_id]))
            _save(self.directory / "claims.json", accepted)
        envelope = self._envelope(to=interchange.sender_id, control=control)
        by_payer: dict[str, list] = {}
        for claim in batch.claims:
            by_payer.setdefault(claim.payer.payer_id, []).append(claim)
        answers = []
        for claims in by_payer.values():
            part = type(batch)(submitter=batch.submitter, receiver=batch.receiver, reference=batch.reference,
                               claims=claims)
            answers.append(acknowledge_claims(part, payer_name=claims[0].payer.name, payer_id=claims[0].payer.payer_id,
                                              received=today, processed=today, rejections=rejections,
                                              payer_claim_numbers=numbers))
        return write_999(acks, envelope=envelope), write_277ca(answers, envelope=envelope)

    @staticmethod
    def _claim_record(claim, number: str) -> dict:
        patient = claim.patient
        return {
            "claim_id": claim.claim_id, "payer_claim_number": number, "payer_id": claim.payer.payer_id,
            "payer_name": claim.payer.name, "member_id": claim.subscriber.member_id,
            "insured": [claim.subscriber.last_name, claim.subscriber.first_name],
            "patient": [patient.last_name, patient.first_name] if patient else [claim.subscriber.last_name,
                                                                                  claim.subscriber.first_name],
            "filing": claim.subscriber.filing_code, "responsibility": claim.subscriber.responsibility,
            "provider_npi": claim.billing_provider.npi, "provider_name": claim.billing_provider.name,
            "place": claim.place_of_service, "remitted": False,
            "lines": [{"code": line.procedure_code, "modifiers": list(line.modifiers), "charge": str(line.charge),
                       "units": str(line.units), "date": line.service_date.isoformat(),
                       "control": line.line_control_number} for line in claim.lines],
        }

    # ------------------------------------------------------------------------------------------------- 835s

    def remittances_for(self, *, payer_id: str | None = None) -> list[str]:
        """The 835s (one per payer) paying the accepted claims not paid yet; each claim is paid once."""
        with _lock:
            records = _load(self.directory / "claims.json", [])
            due = [r for r in records if not r["remitted"] and (payer_id is None or r["payer_id"] == payer_id)]
            if not due:
                return []
            by_payer: dict[str, list[dict]] = {}
            for record in due:
                by_payer.setdefault(record["payer_id"], []).append(record)
                record["remitted"] = True
            files = []
            today = timezone.localdate()
            for payer, claims in by_payer.items():
                payments = [self._payment(record) for record in claims]
                total = sum((p.paid for p in payments), Decimal("0"))
                control = self._next("interchange")
                remittance = Remittance(
                    payment_amount=total, credit_debit="C", payment_method="CHK" if total else "NON",
                    payment_date=today, trace_number=f"LCK{self._next('check'):09d}",
                    payer=RemitParty(claims[0]["payer_name"], "XV", payer, address=PAYER_ADDRESS,
                                     contact_phone=PAYER_PHONE),
                    payee=RemitParty(claims[0]["provider_name"], "XX", claims[0]["provider_npi"]),
                    payer_trace_id="1" + payer.rjust(9, "0")[-9:], production_date=today, claims=payments,
                )
                to = self.clearinghouse.submitter_id
                files.append(write_835([remittance], envelope=self._envelope(to=to, control=control)))
            _save(self.directory / "claims.json", records)
        return files

    def _payment(self, record: dict) -> ClaimPayment:
        member = roster_get(self.clearinghouse, record["payer_id"], record["member_id"])
        copay_left = (_money(member.copay) if member else None) or Decimal("0")
        lines = []
        for line in record["lines"]:
            charge = Decimal(line["charge"])
            allowed = _cents(charge * ALLOWED_SHARE)
            adjustments = [Adjustment("CO", "45", charge - allowed)] if charge != allowed else []
            copay = min(copay_left, allowed)
            if copay:
                adjustments.append(Adjustment("PR", "3", copay))
                copay_left -= copay
            day = date.fromisoformat(line["date"])
            lines.append(ServiceLinePayment(
                procedure_code=line["code"], modifiers=tuple(line["modifiers"]), charge=charge, paid=allowed - copay,
                units=Decimal(line["units"]), service_from=day, adjustments=adjustments, allowed=allowed,
                line_control_number=line["control"],
            ))
        charge = sum((line.charge for line in lines), Decimal("0"))
        paid = sum((line.paid for line in lines), Decimal("0"))
        patient = sum((a.amount for line in lines for a in line.adjustments if a.group == "PR"), Decimal("0"))
        return ClaimPayment(
            claim_id=record["claim_id"], status="2" if record["responsibility"] == "S" else "1", charge=charge,
            paid=paid, patient_responsibility=patient, filing_indicator=_filing_835(record["filing"]),
            payer_claim_control_number=record["payer_claim_number"], facility_type=record["place"],
            patient_last_name=record["patient"][0], patient_first_name=record["patient"][1],
            patient_id=record["member_id"], insured_last_name=record["insured"][0],
            insured_first_name=record["insured"][1], insured_id=record["member_id"],
            statement_from=min(line.service_from for line in lines),
            statement_to=max(line.service_from for line in lines), lines=lines,
        )


