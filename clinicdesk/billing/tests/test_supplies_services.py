"""Supplies used in care: a flu shot's vaccine lot recorded on its service, taken off the shelf for the patient when
the encounter posts (in the same transaction, refused naming the service and item when the shelf is short), put back
when the encounter is voided; the lot recall then names who received the lot. A serial-tracked supply takes one
serial per row."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from clinicdesk.billing.choices import EncounterStatus
from clinicdesk.billing.models import Encounter, EncounterSupply
from clinicdesk.billing.services.charges import (
    ServiceInput,
    SupplyInput,
    encounter_code,
    encounter_post,
    encounter_void,
    encounters_post,
)
from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import LocationFactory
from clinicdesk.inventory.choices import MovementKind
from clinicdesk.inventory.models import StockBalance, StockMovement
from clinicdesk.inventory.selectors import lot_recall
from clinicdesk.inventory.services.serials import stock_receive_serials
from clinicdesk.inventory.services.stock import stock_receive
from clinicdesk.inventory.tests.factories import ItemFactory, PackFactory
from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.models import JournalLine

from .factories_encounters import coded, new_encounter
from .factories_supplies import FLU, flu_shot

D = Decimal


@pytest.fixture
def doctor(make_user):
    return make_user(Role.CLINICIAN, username="drlee")


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="devon")


def on_hand(item, lot=None) -> Decimal:
    rows = StockBalance.objects.filter(item=item)
    if lot is not None:
        rows = rows.filter(lot=lot)
    return rows.aggregate(t=Sum("on_hand"))["t"] or D(0)


# --- coding --------------------------------------------------------------------------------------------------


def test_a_vaccine_without_a_lot_is_given_the_first_expiring_lot_in_the_encounters_fridge(org, doctor, flu_prices, clinic):
    # when the doctor records one dose of flu vaccine on the vaccine service, leaving the lot to the suggestion
    encounter = flu_shot(org, doctor, clinic, supplies=[SupplyInput(line=1, item_id=clinic.vaccine.pk)])
    # then the supply names the lot that expires first, in the fridge of the encounter's office
    supply = EncounterSupply.objects.get(encounter=encounter)
    assert (supply.line, supply.lot.number, supply.stock_location_id, supply.quantity) == (
        1, "SOON1", clinic.fridge.pk, D("1"))
    # and nothing has left the shelf yet
    assert on_hand(clinic.vaccine) == D("7")


def test_a_scanned_pack_barcode_finds_its_item(org, doctor, flu_prices, clinic):
    pack = PackFactory(item=clinic.vaccine, name="single-dose syringe", quantity=D("1"))
    encounter = flu_shot(org, doctor, clinic, submit=False, supplies=[SupplyInput(line=1, gtin=f" {pack.gtin} ")])
    assert EncounterSupply.objects.get(encounter=encounter).item_id == clinic.vaccine.pk


def test_coding_again_without_supplies_keeps_them(org, doctor, flu_prices, clinic):
    encounter = flu_shot(org, doctor, clinic, submit=False,
                         supplies=[SupplyInput(line=2, item_id=clinic.vaccine.pk, lot_id=clinic.lots["LATE1"].pk)])
    encounter_code(encounter=encounter, actor=doctor, diagnoses=["Z23"], services=[
        ServiceInput(code=code, modifiers=mods, units=units, pointers="1") for code, mods, units in FLU])
    assert EncounterSupply.objects.get(encounter=encounter).lot.number == "LATE1"
    # but dropping the service the supply was used for is refused, naming the supply
    with pytest.raises(ValidationError) as caught:
        encounter_code(encounter=encounter, actor=doctor, diagnoses=["Z23"], services=[ServiceInput(code="90471")])
    assert caught.value.message_dict["supplies"] == [
        "Supply 1: service 2 is no longer coded; remove the supply first."]


@pytest.mark.parametrize(("supply", "message"), [
    (SupplyInput(line=3, item_id=-1), "Supply 1: no such item."),
    (SupplyInput(line=3, item_id=None, gtin="12345"), "Supply 1: GTIN 12345: a GTIN is 8, 12, 13 or 14 digits."),
    (SupplyInput(line=3, item_id=None, gtin="4000000000010"), "Supply 1: GTIN 4000000000010: the check digit is wrong"),
    ("line 3", "Supply 1: give the number of the service it was used for (1 to 2)."),
    ("quantity -1", "Supply 1: the quantity of Flu vaccine (quadrivalent) is a number of dose above zero"),
    ("quantity NaN", "Supply 1: the quantity"),
    ("quantity 1.0001", "Supply 1: the quantity"),
    ("quantity 1e9", "Supply 1: the quantity"),
    ("quantity 🙂", "Supply 1: the quantity"),
    ("other lot", "Supply 1: that lot is not a lot of Flu vaccine (quadrivalent)."),
    ("expired lot", "Supply 1: lot OLD1 of Flu vaccine (quadrivalent) expired on 10/31/2026."),
])
def test_bad_supplies_are_refused_naming_the_row_and_nothing_changes(org, doctor, flu_prices, clinic, supply, message):
    # given an encounter coded with a flu shot and its dose
    encounter = flu_shot(org, doctor, clinic, submit=False, supplies=[SupplyInput(line=1, item_id=clinic.vaccine.pk)])
    other = ItemFactory(organization=org, name="Gauze")
    other_lot = stock_receive(item=other, stock_location=clinic.fridge, quantity=D("1"), actor=None).lot
    old = stock_receive(item=clinic.vaccine, stock_location=clinic.fridge, quantity=D("1"), actor=None,
                        lot_number="OLD1", expires_on=date(2026, 10, 31), confirm_expired=True).lot
    if isinstance(supply, str):
        what, _, value = supply.partition(" ")
        supply = SupplyInput(line=int(value) if what == "line" else 1, item_id=clinic.vaccine.pk,
                             quantity=value if what == "quantity" else "1",
                             lot_id={"other": other_lot.pk, "expired": old.pk}.get(what))
    # when the coder saves a bad supply row
    with pytest.raises(ValidationError) as caught:
        encounter_code(encounter=encounter, actor=doctor, diagnoses=["Z23"], supplies=[supply], services=[
            ServiceInput(code=code, modifiers=mods, units=units, pointers="1") for code, mods, units in FLU])
    # then the message names the row, and the dose coded before is still there
    assert any(m.startswith(message) for m in caught.value.message_dict["supplies"]), caught.value.message_dict
    assert [s.lot.number for s in EncounterSupply.objects.filter(encounter=encounter)] == ["SOON1"]


def test_a_supply_of_another_practice_is_no_such_item(org, other_org, doctor, flu_prices, clinic):
    foreign = ItemFactory(organization=other_org, name="Their vaccine")
    encounter = flu_shot(org, doctor, clinic, submit=False, supplies=[])
    with pytest.raises(ValidationError) as caught:
        encounter_code(encounter=encounter, actor=doctor, diagnoses=["Z23"], services=[ServiceInput(code="90686")],
                       supplies=[SupplyInput(line=1, item_id=foreign.pk)])
    assert caught.value.message_dict["supplies"] == ["Supply 1: no such item."]


# --- posting -------------------------------------------------------------------------------------------------


def test_posting_uses_the_dose_for_the_patient_and_books_it_as_an_inventory_entry(org, doctor, biller, flu_prices, clinic):
    # given a flu shot with one dose of the lot expiring first
    encounter = flu_shot(org, doctor, clinic, supplies=[SupplyInput(line=1, item_id=clinic.vaccine.pk)])
    # when the biller posts it
    encounter_post(encounter=encounter, actor=biller)
    # then the dose left the fridge for the patient, naming the encounter
    use = StockMovement.objects.get(kind=MovementKind.CONSUMPTION)
    assert (use.patient_id, use.lot.number, use.quantity, use.encounter_ref, use.occurred_on) == (
        encounter.patient_id, "SOON1", D("-1"), encounter.public_id, encounter.service_date)
    assert on_hand(clinic.vaccine, clinic.lots["SOON1"]) == D("1")
    # and its cost (first in, first out: the first receipt's 15.00) went to supplies expense in an inventory entry
    assert use.journal_entry.kind == EntryKind.INVENTORY
    assert JournalLine.objects.filter(entry=use.journal_entry, account__role=AccountRole.SUPPLIES_EXPENSE).get().amount == D("15.00")
    # and the lot recall names the patient
    assert [u.patient_id for u in lot_recall(user=biller, lot_number="soon1")] == [encounter.patient_id]


def test_not_enough_on_hand_refuses_the_whole_batch_naming_service_and_item(org, doctor, biller, flu_prices, clinic):
    # given one encounter that can be posted and one that wants three doses of a lot with two
    fine = coded(org, doctor, diagnoses=("J06.9",), services=(("99213", "", 1),))
    short = flu_shot(org, doctor, clinic, supplies=[
        SupplyInput(line=1, item_id=clinic.vaccine.pk, lot_id=clinic.lots["SOON1"].pk, quantity="3")])
    # when both are posted together
    with pytest.raises(ValidationError) as caught:
        encounters_post(encounters=[fine, short], actor=biller)
    # then the message names the encounter's service and the item, and nothing was posted or used
    message = caught.value.message_dict["encounters"][0]
    assert "Service 1, supply Flu vaccine (quadrivalent): Only 2 dose of lot SOON1" in message
    assert set(Encounter.objects.values_list("status", flat=True)) == {EncounterStatus.IN_REVIEW}
    assert not StockMovement.objects.filter(kind=MovementKind.CONSUMPTION).exists()
    assert on_hand(clinic.vaccine) == D("7")


def test_in_a_batch_the_refusal_names_the_encounter_whose_supply_is_short(org, doctor, biller, flu_prices, clinic):
    # given two flu shots from a lot of two doses, then a third that wants a second dose of it
    first = flu_shot(org, doctor, clinic, supplies=[
        SupplyInput(line=1, item_id=clinic.vaccine.pk, lot_id=clinic.lots["SOON1"].pk)])
    second = flu_shot(org, doctor, clinic, supplies=[
        SupplyInput(line=1, item_id=clinic.vaccine.pk, lot_id=clinic.lots["SOON1"].pk)])
    third = flu_shot(org, doctor, clinic, supplies=[
        SupplyInput(line=1, item_id=clinic.vaccine.pk, lot_id=clinic.lots["SOON1"].pk)])
    # when the three are posted in one batch
    with pytest.raises(ValidationError) as caught:
        encounters_post(encounters=[first, second, third], actor=biller)
    # then the third encounter is named, without the batch's own numbering of its uses, and nothing was used
    message = caught.value.message_dict["encounters"][0]
    assert message.startswith(f"{third.patient} {third.service_date:%m/%d/%Y}: Service 1, supply Flu vaccine")
    assert "Only 0 dose of lot SOON1" in message and "Use 3" not in message
    assert not StockMovement.objects.filter(kind=MovementKind.CONSUMPTION).exists()


def test_an_item_that_may_go_negative_is_used_anyway(org, doctor, biller, flu_prices, clinic):
    swabs = ItemFactory(organization=org, name="Alcohol swab", allow_negative=True)
    encounter = flu_shot(org, doctor, clinic, supplies=[SupplyInput(line=2, item_id=swabs.pk, quantity="2")])
    encounter_post(encounter=encounter, actor=biller)
    assert on_hand(swabs) == D("-2")


def test_a_batch_without_supplies_reads_them_in_one_query(org, doctor, biller, flu_prices):
    # given a queue of plain office visits
    batch = [coded(org, doctor) for _ in range(3)]
    # when they post
    with CaptureQueriesContext(connection) as queries:
        encounters_post(encounters=batch, actor=biller)
    # then the supplies were looked for once, for the whole batch
    assert len([q for q in queries.captured_queries if '"billing_encountersupply"' in q["sql"]]) == 1
    assert not StockMovement.objects.exists()


def test_a_batch_uses_each_encounters_supplies(org, doctor, biller, flu_prices, clinic):
    first = flu_shot(org, doctor, clinic, supplies=[SupplyInput(line=1, item_id=clinic.vaccine.pk)])
    second = flu_shot(org, doctor, clinic, supplies=[SupplyInput(line=1, item_id=clinic.vaccine.pk)])
    plain = coded(org, doctor, location=clinic.office)
    encounters_post(encounters=[first, second, plain], actor=biller)
    uses = StockMovement.objects.filter(kind=MovementKind.CONSUMPTION)
    assert sorted(u.patient_id for u in uses) == sorted([first.patient_id, second.patient_id])
    assert on_hand(clinic.vaccine, clinic.lots["SOON1"]) == D("0")
    # posting again changes nothing
    encounters_post(encounters=[first, second], actor=biller)
    assert uses.count() == 2


# --- voiding -------------------------------------------------------------------------------------------------


def test_voiding_puts_the_dose_back_at_its_cost_and_the_recall_no_longer_names_the_patient(
        org, doctor, biller, flu_prices, clinic):
    # given a posted flu shot
    encounter = flu_shot(org, doctor, clinic, supplies=[SupplyInput(line=1, item_id=clinic.vaccine.pk)])
    encounter_post(encounter=encounter, actor=biller)
    expense_after_use = JournalLine.objects.filter(account__role=AccountRole.SUPPLIES_EXPENSE).aggregate(
        t=Sum("amount"))["t"]
    # when the biller voids it
    encounter_void(encounter=encounter, reason="Entered on the wrong patient", actor=biller)
    # then the dose is back in the fridge, the expense is taken back, and the recall leaves the patient out
    assert on_hand(clinic.vaccine, clinic.lots["SOON1"]) == D("2")
    back = StockMovement.objects.get(kind=MovementKind.ADJUSTMENT)
    assert (back.quantity, back.value, back.patient_id, back.encounter_ref) == (
        D("1"), D("15.00"), encounter.patient_id, encounter.public_id)
    assert "wrong patient" in back.reason
    assert expense_after_use == D("15.00")
    assert JournalLine.objects.filter(account__role=AccountRole.SUPPLIES_EXPENSE).aggregate(t=Sum("amount"))["t"] == 0
    assert list(lot_recall(user=biller, lot_number="SOON1")) == []
    # and voiding twice puts nothing back twice
    encounter_void(encounter=encounter, reason="again", actor=biller)
    assert on_hand(clinic.vaccine, clinic.lots["SOON1"]) == D("2")


def test_voiding_a_draft_moves_no_stock(org, doctor, biller, flu_prices, clinic):
    encounter = flu_shot(org, doctor, clinic, submit=False, supplies=[SupplyInput(line=1, item_id=clinic.vaccine.pk)])
    encounter_void(encounter=encounter, reason="Not seen", actor=biller)
    assert not StockMovement.objects.filter(kind__in=[MovementKind.CONSUMPTION, MovementKind.ADJUSTMENT]).exists()


def test_a_location_without_stock_locations_is_refused(org, doctor, flu_prices, clinic):
    encounter = new_encounter(org, doctor, location=LocationFactory(organization=org, name="Nursing home"))
    with pytest.raises(ValidationError) as caught:
        encounter_code(encounter=encounter, actor=doctor, diagnoses=["Z23"], services=[ServiceInput(code="90686")],
                       supplies=[SupplyInput(line=1, item_id=clinic.vaccine.pk)])
    assert caught.value.message_dict["supplies"] == [
        "Supply 1: Nursing home has no stock location to take Flu vaccine (quadrivalent) from."]


# --- serial numbers ------------------------------------------------------------------------------------------


@pytest.fixture
def braces(org, clinic):
    """Three hinged knee braces by serial in the office's stock, the middle one expiring first."""
    brace = ItemFactory(organization=org, name="Knee brace, hinged", tracks_serials=True, price=D("64.00"))
    for number, expires in (("KB-1", date(2029, 1, 1)), ("KB-2", date(2028, 1, 1)), ("KB-3", None)):
        stock_receive_serials(item=brace, stock_location=clinic.fridge, serials=[number], quantity=D(1), actor=None,
                              expires_on=expires)
    return brace


def test_each_supply_row_takes_its_own_serial_and_posting_uses_it_for_the_patient(
        org, doctor, biller, flu_prices, clinic, braces):
    # when two braces are coded without naming their serials
    encounter = flu_shot(org, doctor, clinic, supplies=[SupplyInput(line=1, item_id=braces.pk),
                                                         SupplyInput(line=2, item_id=braces.pk)])
    # then each row names a different serial, first-expiring first
    assert [s.lot.number for s in EncounterSupply.objects.filter(encounter=encounter).order_by("sequence")] == [
        "KB-2", "KB-1"]
    # and posting takes both off the shelf for the patient; the recall finds the patient by serial
    encounter_post(encounter=encounter, actor=biller)
    uses = StockMovement.objects.filter(kind=MovementKind.CONSUMPTION, item=braces)
    assert sorted(u.lot.number for u in uses) == ["KB-1", "KB-2"]
    assert [u.patient_id for u in lot_recall(user=biller, lot_number="kb-2")] == [encounter.patient_id]
    assert list(StockBalance.objects.filter(item=braces, on_hand=1).values_list("lot__number", flat=True)) == ["KB-3"]


@pytest.mark.parametrize("rows, message", [
    ([{"quantity": "2"}], "Supply 1: Knee brace, hinged is tracked by serial number: enter one supply"),
    ([{"lot": "KB-1"}, {"lot": "KB-1"}], "Supply 2: serial KB-1 of Knee brace, hinged is on another supply row."),
])
def test_a_serial_is_one_unit_on_one_row(org, doctor, flu_prices, clinic, braces, rows, message):
    lots = {lot.number: lot.pk for lot in braces.lots.all()}
    encounter = flu_shot(org, doctor, clinic, submit=False, supplies=[])
    supplies = [SupplyInput(line=1, item_id=braces.pk, quantity=row.get("quantity", "1"),
                            lot_id=lots.get(row.get("lot"))) for row in rows]
    with pytest.raises(ValidationError) as caught:
        encounter_code(encounter=encounter, actor=doctor, diagnoses=["Z23"], supplies=supplies, services=[
            ServiceInput(code=code, modifiers=mods, units=units, pointers="1") for code, mods, units in FLU])
    assert any(m.startswith(message) for m in caught.value.message_dict["supplies"]), caught.value.message_dict
    assert not EncounterSupply.objects.filter(encounter=encounter).exists()
