"""Random sequences of charges, payments, adjustments, refunds, transfers between patient and insurance items and
reversals, posted through entry_post and entries_post, checked against a plain model of who owes what: the books
always balance, every patient's balance is the sum of their receivable and credit lines, every item's balance is
its lines, and the aging report adds up to the same figures."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinicdesk.core.tests.factories import OrganizationFactory, UserFactory
from clinicdesk.ledger import reports
from clinicdesk.ledger.choices import AccountRole, EntryKind, PartyKind
from clinicdesk.ledger.models import JournalLine
from clinicdesk.ledger.selectors import account_balances, item_balances, patient_balances
from clinicdesk.ledger.services import EntrySpec, LineSpec, entries_post, entry_post, entry_reverse, open_item_create
from clinicdesk.patients.tests.factories import PatientFactory

AS_OF = date(2026, 11, 30)
PAYERS = ["Aetna", "Blue Cross", ""]  # "" is the patient's own item
amounts = st.integers(min_value=1, max_value=500_00).map(lambda cents: Decimal(cents) / 100)
operation = st.one_of(
    st.tuples(st.just("charge"), st.integers(0, 2), st.sampled_from(PAYERS), amounts, st.integers(0, 200)),
    st.tuples(st.just("charges"), st.lists(st.tuples(st.integers(0, 2), st.sampled_from(PAYERS), amounts,
                                                     st.integers(0, 200)), min_size=1, max_size=4)),
    st.tuples(st.just("pay"), st.integers(0, 50), amounts),
    st.tuples(st.just("adjust"), st.integers(0, 50), amounts),
    st.tuples(st.just("credit"), st.integers(0, 2), amounts),
    st.tuples(st.just("refund"), st.integers(0, 2), amounts),
    st.tuples(st.just("transfer"), st.integers(0, 50), st.integers(0, 50), amounts),
    st.tuples(st.just("reverse"), st.integers(0, 50)),
)


class Books:
    """The model: what each item and each patient's credit should hold, and each entry's effect on them."""

    def __init__(self, org, patients):
        self.org, self.patients = org, patients
        self.items: list = []
        self.item_balance: dict[int, Decimal] = {}
        self.credit: dict[int, Decimal] = {p.pk: Decimal(0) for p in patients}
        self.effects: list[tuple[object, list[tuple[str, int, Decimal]]]] = []  # (entry, [(what, id, delta)])

    def apply(self, effect, sign=1):
        for what, key, delta in effect:
            target = self.item_balance if what == "item" else self.credit
            target[key] += sign * delta

    def post(self, kind, lines, effect, on=AS_OF):
        entry = entry_post(organization=self.org, entry_date=on, kind=kind, lines=lines)
        self.effects.append((entry, effect))
        self.apply(effect)

    def charge_specs(self, charges):
        specs, effects = [], []
        for patient_n, payer, amount, age in charges:
            patient = self.patients[patient_n]
            item = open_item_create(organization=self.org, patient=patient, service_date=AS_OF - timedelta(days=age),
                                    description="Visit", party_kind=PartyKind.INSURANCE if payer else PartyKind.PATIENT,
                                    party_label=payer)
            self.items.append(item)
            self.item_balance[item.pk] = Decimal(0)
            receivable = AccountRole.INSURANCE_RECEIVABLE if payer else AccountRole.PATIENT_RECEIVABLE
            specs.append(EntrySpec(entry_date=item.service_date, kind=EntryKind.CHARGE, lines=[
                LineSpec(account=receivable, amount=amount, item=item),
                LineSpec(account=AccountRole.SERVICE_REVENUE, amount=-amount),
            ]))
            effects.append([("item", item.pk, amount)])
        return specs, effects

    def receivable(self, item):
        return AccountRole.INSURANCE_RECEIVABLE if item.party_kind == PartyKind.INSURANCE else AccountRole.PATIENT_RECEIVABLE

    def run(self, op):
        name = op[0]
        if name in ("charge", "charges"):
            charges = [op[1:]] if name == "charge" else op[1]
            specs, effects = self.charge_specs(charges)
            if name == "charge":
                self.post(EntryKind.CHARGE, specs[0].lines, effects[0], on=specs[0].entry_date)
            else:
                for entry, effect in zip(entries_post(organization=self.org, entries=specs), effects, strict=True):
                    self.effects.append((entry, effect))
                    self.apply(effect)
            return
        if name in ("pay", "adjust") and self.items:
            item, amount = self.items[op[1] % len(self.items)], op[2]
            debit = AccountRole.CASH if name == "pay" else AccountRole.CONTRACTUAL_ADJUSTMENT
            self.post(EntryKind.PAYMENT if name == "pay" else EntryKind.ADJUSTMENT, [
                LineSpec(account=debit, amount=amount),
                LineSpec(account=self.receivable(item), amount=-amount, item=item),
            ], [("item", item.pk, -amount)])
        elif name == "credit":
            patient, amount = self.patients[op[1]], op[2]
            self.post(EntryKind.PAYMENT, [
                LineSpec(account=AccountRole.CASH, amount=amount),
                LineSpec(account=AccountRole.PATIENT_CREDIT, amount=-amount, patient=patient),
            ], [("credit", patient.pk, -amount)])
        elif name == "refund":
            patient, amount = self.patients[op[1]], op[2]
            self.post(EntryKind.REFUND, [
                LineSpec(account=AccountRole.PATIENT_CREDIT, amount=amount, patient=patient),
                LineSpec(account=AccountRole.REFUNDS_PAYABLE, amount=-amount),
            ], [("credit", patient.pk, amount)])
        elif name == "transfer" and self.items:
            source = self.items[op[1] % len(self.items)]
            same_patient = [i for i in self.items if i.patient_id == source.patient_id and i.pk != source.pk]
            if not same_patient:
                return
            target, amount = same_patient[op[2] % len(same_patient)], op[3]
            self.post(EntryKind.TRANSFER, [
                LineSpec(account=self.receivable(target), amount=amount, item=target),
                LineSpec(account=self.receivable(source), amount=-amount, item=source),
            ], [("item", target.pk, amount), ("item", source.pk, -amount)])
        elif name == "reverse" and self.effects:
            entry, effect = self.effects[op[1] % len(self.effects)]
            if entry.kind == EntryKind.REVERSAL or getattr(entry, "_reversed", False):
                return
            reversal = entry_reverse(entry=entry, entry_date=AS_OF)
            entry._reversed = True
            self.effects.append((reversal, [(w, k, -d) for w, k, d in effect]))
            self.apply(effect, sign=-1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(operation, min_size=1, max_size=14))
def test_the_books_always_agree_with_the_model(db, ops):
    # given: a practice of its own for each example (the test database is shared between examples)
    org = OrganizationFactory()
    user = UserFactory(organization=org)
    patients = [PatientFactory(organization=org) for _ in range(3)]
    books = Books(org, patients)
    # when
    for op in ops:
        books.run(op)
    # then: the books balance
    trial = reports.trial_balance(user=user, as_of=AS_OF)
    assert trial.total_debit == trial.total_credit
    assert sum(account_balances(organization_id=org.pk).values()) == 0
    # every item holds its lines, and what the model says
    ids = [i.pk for i in books.items]
    assert item_balances(item_ids=ids) == {pk: books.item_balance[pk] for pk in ids}
    line_sums = {pk: Decimal(0) for pk in ids}
    for item_id, amount in JournalLine.objects.filter(item_id__in=ids).values_list("item_id", "amount"):
        line_sums[item_id] += amount
    assert line_sums == books.item_balance
    # every patient owes their patient items plus (less) their credit, the sum of their lines on those accounts
    owed = patient_balances(organization_id=org.pk, patient_ids=[p.pk for p in patients])
    for p in patients:
        own_items = sum((books.item_balance[i.pk] for i in books.items
                         if i.patient_id == p.pk and i.party_kind == PartyKind.PATIENT), Decimal(0))
        assert owed[p.pk] == own_items + books.credit[p.pk]
        lines = JournalLine.objects.filter(patient=p, account__role__in=[AccountRole.PATIENT_RECEIVABLE, AccountRole.PATIENT_CREDIT])
        assert owed[p.pk] == sum(lines.values_list("amount", flat=True), Decimal(0)).quantize(Decimal("0.01"))
    # the aging adds up to the same figures, by patient and by payer
    # (a row may net to zero while its buckets do not: an old credit against a new charge; compare the totals)
    aging = {r.key: r.total for r in reports.ar_aging(user=user, as_of=AS_OF).rows if r.total}
    assert aging == {pk: total for pk, total in owed.items() if total}
    by_payer = {r.label: r.total for r in reports.ar_aging(user=user, as_of=AS_OF, by="payer").rows if r.total}
    expected: dict[str, Decimal] = {}
    for i in books.items:
        label = i.party_label or reports.PATIENT_RESPONSIBILITY
        expected[label] = expected.get(label, Decimal(0)) + books.item_balance[i.pk]
    assert by_payer == {label: total for label, total in expected.items() if total}
