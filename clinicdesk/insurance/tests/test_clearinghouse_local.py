"""The local test clearinghouse: 835s for the claims it accepted, paid by its documented rule, once each."""

from decimal import Decimal

import pytest

from clinicdesk.core.choices import Role
from clinicdesk.insurance.clearinghouse.adapter import ClearinghouseError, clearinghouse_adapter
from clinicdesk.insurance.clearinghouse.local import LocalClearinghouse
from clinicdesk.insurance.services.batches import claim_batch_build, claim_batch_send
from clinicdesk.insurance.x12.x835 import read_835

from .eligibility_setup import *  # noqa: F403  (the shared fixtures)
from .eligibility_setup import enrol, make_claim
from .x12.validation import pyx12_errors


def test_the_setting_names_the_adapter(clearinghouse):
    assert isinstance(clearinghouse_adapter(clearinghouse), LocalClearinghouse)


def test_accepted_claims_are_paid_80_percent_less_the_copay_once(practice, clearinghouse, coverage, make_user):
    biller = make_user(Role.BILLER, username="biller")
    enrol(clearinghouse, coverage, copay="25.00")
    claim = make_claim(coverage, charges=("110.00", "18.00"))
    [batch] = claim_batch_build(organization=practice, claims=[claim], actor=biller)
    claim_batch_send(batch=batch, actor=biller)
    adapter = clearinghouse_adapter(clearinghouse)
    [content] = adapter.remittances_for()
    assert pyx12_errors(content, with_ack=False) == []
    [remittance] = read_835(content)
    [paid] = remittance.claims
    assert paid.claim_id == "C1001" and paid.charge == Decimal("128.00")
    first, second = paid.lines
    assert first.allowed == Decimal("88.00") and first.paid == Decimal("63.00")
    assert {(a.group, a.reason, a.amount) for a in first.adjustments} == {("CO", "45", Decimal("22.00")),
                                                                         ("PR", "3", Decimal("25.00"))}
    assert second.paid == Decimal("14.40")
    assert paid.paid == Decimal("77.40") and paid.patient_responsibility == Decimal("25.00")
    assert remittance.balanced and remittance.payment_amount == Decimal("77.40")
    assert adapter.remittances_for() == []


def test_an_unreadable_file_is_refused(clearinghouse):
    with pytest.raises(ClearinghouseError, match="refused the file"):
        clearinghouse_adapter(clearinghouse).submit_837("nonsense")
    with pytest.raises(ClearinghouseError, match="could not read"):
        clearinghouse_adapter(clearinghouse).send_270("nonsense")
