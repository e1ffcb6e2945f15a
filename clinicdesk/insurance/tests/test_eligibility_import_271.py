"""manage.py import_271: benefits per subscriber; envelope errors named; a non-zero exit on malformed input."""

import re
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from clinicdesk.insurance.x12.segments import Envelope
from clinicdesk.insurance.x12.x271 import Benefit, Eligibility, EligibilityResponse, write_271

from .x12.conftest import x12_data_dir


def _271() -> str:
    person = Eligibility(role="subscriber", last_name="RIVERS", first_name="DANA", member_id="W1",
                         trace_numbers=["T1"], benefits=[
                             Benefit(info="1", coverage_level="IND", service_types=("30",), plan_name="CHOICE PPO"),
                             Benefit(info="B", coverage_level="IND", service_types=("98",), amount=Decimal("25"),
                                     in_network=True),
                             Benefit(info="C", coverage_level="IND", service_types=("30",), time_period="23",
                                     amount=Decimal("1500"), in_network=True),
                             Benefit(info="C", coverage_level="IND", service_types=("30",), time_period="29",
                                     amount=Decimal("900"), in_network=True),
                         ])
    response = EligibilityResponse("ACME", "ACME1", "RIVERSIDE", "1234567893", subscribers=[person])
    envelope = Envelope("LOCALCH", "RIVERSIDE01", 5, 5, datetime(2026, 11, 27, 9, 0))
    return write_271([response], envelope=envelope, originator_id="9LOCALCH01")


def test_prints_benefits_per_subscriber(tmp_path, capsys):
    path = tmp_path / "answer.271"
    path.write_text(_271())
    call_command("import_271", str(path))
    out = capsys.readouterr().out
    assert "subscriber RIVERS, DANA (member W1): active" in out
    assert "plan: CHOICE PPO" in out
    assert "copay $25.00" in out and "in network" in out
    assert "deductible $1,500.00, met $600.00, remaining $900.00" in out


def test_an_se_that_does_not_match_its_st_is_named_and_fails(tmp_path, capsys):
    good = _271()
    path = tmp_path / "bad.271"
    path.write_text(re.sub(r"(SE\*\d+\*)0001~", r"\g<1>0002~", good))
    assert "*0002~" in path.read_text()
    with pytest.raises(CommandError):
        call_command("import_271", str(path))
    assert "SE02 '0002' does not match ST02 '0001'" in capsys.readouterr().err


def test_garbage_and_missing_files_fail(tmp_path, capsys):
    path = tmp_path / "junk.271"
    path.write_text("not x12 at all")
    with pytest.raises(CommandError, match="2 of 2"):
        call_command("import_271", str(path), str(tmp_path / "missing.271"))
    err = capsys.readouterr().err
    assert "junk.271" in err and "missing.271" in err


def test_the_public_sample_imports(capsys):
    root = x12_data_dir() / "linuxforhealth" / "271_005010X279A1"
    samples = sorted(root.glob("*.271")) if root.is_dir() else []
    if not samples:
        print(f"skipped: 271 samples not found at {root}")
        pytest.skip(f"271 samples not found at {root}")
    call_command("import_271", *map(str, samples))
    out = capsys.readouterr().out
    assert "SMITH, JOHN" in out and "active" in out and "copay $10.00" in out


