"""Billing test helpers: charges straight on the ledger, for tests of payments that need something to pay."""

from datetime import date
from decimal import Decimal

import pytest

from clinicdesk.ledger.choices import AccountRole, EntryKind
from clinicdesk.ledger.services import LineSpec, entry_post, open_item_create


@pytest.fixture
def post_charge():
    """Post a charge of `amount` for `patient` on `service_date` and return its open item."""

    def post(patient, amount: str, *, service_date: date = date(2026, 10, 1), description: str = "Office visit"):
        item = open_item_create(organization=patient.organization, patient=patient, service_date=service_date,
                                description=description)
        entry_post(organization=patient.organization, entry_date=service_date, kind=EntryKind.CHARGE, lines=[
            LineSpec(account=AccountRole.PATIENT_RECEIVABLE, amount=Decimal(amount), item=item),
            LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-Decimal(amount), patient=patient),
        ])
        return item

    return post


@pytest.fixture
def fee_schedule(org):
    """A default fee schedule with a few office codes, effective from 2026-01-01."""
    from clinicdesk.billing.models import Fee, FeeSchedule, ProcedureCode

    schedule = FeeSchedule.objects.create(organization=org, name="Standard", is_default=True)
    prices = {("99213", ""): "110.00", ("99214", ""): "165.00", ("99214", "25"): "170.00", ("36415", ""): "18.00",
              ("93000", ""): "45.00", ("99024", ""): "0.00"}
    procedures = {}
    for (code, modifiers), price in prices.items():
        if code not in procedures:
            procedures[code] = ProcedureCode.objects.create(organization=org, code_system="CPT", code=code,
                                                            description=f"Service {code}")
        Fee.objects.create(organization=org, schedule=schedule, procedure=procedures[code], modifiers=modifiers,
                           price=Decimal(price), effective_from=date(2026, 1, 1))
    return schedule


# --- statements ----------------------------------------------------------------------------------------------


@pytest.fixture
def statement_world(org, make_user, post_charge, settings, tmp_path):
    """A biller, the default message wording, private media in a temporary folder, and `guarantor(...)` that makes a
    patient who is their own guarantor (with an address and, unless told otherwise, an e-mail address)."""
    from clinicdesk.billing.services.accounts import account_for_patient
    from clinicdesk.communications.defaults import defaults_install
    from clinicdesk.core.choices import Role
    from clinicdesk.patients.tests.factories import PatientFactory

    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None}}}
    defaults_install(organization=org)
    biller = make_user(Role.BILLER, username="biller-statements")

    def guarantor(last_name: str, *, email: bool = True, address: bool = True, **fields):
        patient = PatientFactory(organization=org, last_name=last_name, first_name=fields.pop("first_name", "Pat"),
                                 email=f"{last_name.lower()}@example.com" if email else "",
                                 address_line1="12 Elm Street" if address else "", city="Springfield" if address else "",
                                 state="IL", postal_code="62701" if address else "", **fields)
        account = account_for_patient(patient=patient)
        return patient, account

    class World:
        pass

    world = World()
    world.org, world.biller, world.guarantor, world.charge = org, biller, guarantor, post_charge
    return world


# --- patient accounts, payments, receipts and payment plans ------------------------------------------------


@pytest.fixture
def fake_cards(monkeypatch):
    """A fake card processor in place of `clinicdesk.billing.cards` (see fake_cards.py)."""
    from .fake_cards import install

    return install(monkeypatch)


@pytest.fixture
def family(org):
    """A parent (guarantor) and a child on one account, each with a charge: 100.00 (Sep 1) and 50.00 (Oct 1)."""
    from clinicdesk.billing.services.accounts import account_for_patient, account_member_move
    from clinicdesk.patients.tests.factories import PatientFactory

    parent = PatientFactory(organization=org, first_name="Maria", last_name="Lopez", email="maria@example.org")
    child = PatientFactory(organization=org, first_name="Ana", last_name="Lopez")
    account = account_for_patient(patient=parent)
    account_member_move(patient=child, account=account, actor=None)
    return {"parent": parent, "child": child, "account": account}


# --- supplies used in care ---------------------------------------------------------------------------------


@pytest.fixture
def flu_prices(fee_schedule):
    """The default fee schedule with the flu vaccine and its administration priced."""
    from .factories_supplies import add_flu_prices

    add_flu_prices(fee_schedule)
    return fee_schedule


@pytest.fixture
def clinic(org):
    """The main office with its vaccine fridge holding two lots of flu vaccine (factories_supplies.Clinic)."""
    from .factories_supplies import Clinic

    return Clinic(org)
