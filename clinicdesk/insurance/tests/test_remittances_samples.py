"""The 835 samples of ../shared/data import and balance (their claims are not ours: they wait in exceptions);
`manage.py import_835` reports each transaction, and names the defects of the two samples that carry one."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db.models import Sum

from clinicdesk.insurance.choices import RemitClaimState
from clinicdesk.insurance.models import Remittance, RemittanceClaim, X12Exchange
from clinicdesk.insurance.services.remittances import remittance_import
from clinicdesk.ledger.choices import AccountRole
from clinicdesk.ledger.models import JournalLine

from .x12.conftest import sample_params
from .x12.test_x835 import SAMPLE_DEFECTS

pytestmark = pytest.mark.django_db
SAMPLES = sample_params("linuxforhealth/835_*/*.835", "pyx12/valid/835_mult_loops.txt")


@pytest.mark.parametrize("path", SAMPLES)
def test_every_sample_imports_and_balances(path, org):
    text = path.read_text()
    if path.name in SAMPLE_DEFECTS:
        message, wrong, right = SAMPLE_DEFECTS[path.name]
        with pytest.raises(ValidationError) as caught:
            remittance_import(organization=org, content=text, file_name=path.name, actor=None)
        assert message in str(caught.value) and "line" in str(caught.value)
        assert not X12Exchange.objects.exists()
        text = text.replace(wrong, right)
    result = remittance_import(organization=org, content=text, file_name=path.name, actor=None)
    assert result.transactions
    for tr in result.transactions:
        assert tr.balanced and tr.remittance.balanced
        assert tr.claims_exceptions == len(tr.remittance.claims.all()) and tr.claims_matched == 0
    assert not RemittanceClaim.objects.exclude(state=RemitClaimState.EXCEPTION).exists()
    # what posted (the provider-level adjustments only, as no claim matched) still balances
    assert (JournalLine.objects.filter(organization=org).aggregate(s=Sum("amount"))["s"] or 0) == 0
    plb = sum(r.provider_adjustments_total for r in Remittance.objects.all())
    bank = JournalLine.objects.filter(organization=org, account__role__in=[
        AccountRole.UNDEPOSITED_FUNDS, AccountRole.OPERATING_BANK]).aggregate(s=Sum("amount"))["s"] or 0
    assert bank == -plb


@pytest.mark.parametrize("path", SAMPLES)
def test_the_command_prints_each_transaction_and_names_defects(path, org, capsys):
    if path.name in SAMPLE_DEFECTS:
        with pytest.raises(CommandError):
            call_command("import_835", str(path), organization=org.slug)
        err = capsys.readouterr().err
        assert SAMPLE_DEFECTS[path.name][0] in err and "nothing posted" in err
        return
    call_command("import_835", str(path), organization=org.slug)
    out = capsys.readouterr().out
    assert "payer " in out and "balanced yes" in out and "claims to exceptions" in out
    call_command("import_835", str(path))  # the only practice: no --organization needed
    assert "already imported" in capsys.readouterr().out


def test_the_command_refuses_a_malformed_file(org, tmp_path, capsys):
    bad = tmp_path / "bad.835"
    bad.write_text("ISA*00*nonsense~\n")
    with pytest.raises(CommandError):
        call_command("import_835", str(bad), organization=org.slug)
    assert "bad.835: refused, nothing posted" in capsys.readouterr().err
    assert not Remittance.objects.exists()
