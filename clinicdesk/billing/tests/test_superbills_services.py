"""Superbill templates: every code checked against the practice's procedure list and ICD-10-CM on save, each
problem naming its section and line, the save audited."""

import pytest
from django.core.exceptions import ValidationError

from clinicdesk.billing.models import ProcedureCode, SuperbillTemplate
from clinicdesk.billing.services.superbills import SuperbillSection, superbill_save
from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent


@pytest.fixture
def biller(make_user):
    return make_user(Role.BILLER, username="devon")


def visits(*rows):
    return [SuperbillSection(title="Office visits", services=[{"code": c, "modifiers": m, "label": lbl} for c, m, lbl in rows])]


def test_a_superbill_is_saved_with_normalised_codes_and_audited(org, biller, fee_schedule):
    template = superbill_save(organization=org, actor=biller, name="Family medicine", specialty="Family medicine",
                              sections=visits(("99213", "", "Follow-up"), ("99214", " 25 ", "")),
                              diagnoses=[{"code": "e119", "label": ""}, {"code": "I10", "label": "High blood pressure"}])
    assert template.sections == [{"title": "Office visits", "services": [
        {"code": "99213", "modifiers": "", "label": "Follow-up"},
        {"code": "99214", "modifiers": "25", "label": "Service 99214"},  # the practice's own description
    ]}]
    assert template.diagnoses == [{"code": "E11.9", "label": "Type 2 diabetes mellitus without complications"},
                                  {"code": "I10", "label": "High blood pressure"}]
    event = AuditEvent.objects.get(action="superbill.created")
    assert "2 services, 2 diagnoses" in event.summary


def test_unknown_codes_and_headings_are_refused_naming_the_line(org, biller, fee_schedule):
    ProcedureCode.objects.filter(organization=org, code="93000").update(is_active=False)
    with pytest.raises(ValidationError) as refused:
        superbill_save(organization=org, actor=biller, name="Broken",
                       sections=visits(("99213", "", ""), ("99999", "", ""), ("93000", "", ""), ("36415", "2X5", "")),
                       diagnoses=[{"code": "I10"}, {"code": "E11"}, {"code": "I10"}])
    errors = refused.value.message_dict
    assert errors["sections"][0].startswith("Office visits, line 2: 99999 is not on the practice's procedure list")
    assert errors["sections"][1].startswith("Office visits, line 3: 93000 is no longer in use")
    assert errors["sections"][2].startswith("Office visits, line 4: Modifiers are two letters or digits")
    assert errors["diagnoses"][0].startswith("Diagnosis line 2: E11 (") and "heading" in errors["diagnoses"][0]
    assert errors["diagnoses"][1] == "Diagnosis line 3: I10 is already listed."
    assert not SuperbillTemplate.objects.exists()


def test_editing_replaces_the_contents_and_names_stay_unique(org, biller, fee_schedule, other_org):
    first = superbill_save(organization=org, actor=biller, name="Chiropractic", sections=visits(("99213", "", "")),
                           diagnoses=[])
    superbill_save(organization=org, actor=biller, name="Family medicine", sections=[], diagnoses=[])
    with pytest.raises(ValidationError, match="already a superbill named"):
        superbill_save(organization=org, actor=biller, name="family medicine", sections=[], diagnoses=[],
                       template=first)
    edited = superbill_save(organization=org, actor=biller, name="Chiropractic and massage", is_active=False,
                            sections=visits(("36415", "", "Blood draw")), diagnoses=[{"code": "M54.50"}], template=first)
    assert edited.pk == first.pk and not edited.is_active
    assert edited.sections[0]["services"][0]["code"] == "36415" and edited.diagnoses[0]["code"] == "M54.50"
    assert AuditEvent.objects.filter(action="superbill.changed").count() == 1
    with pytest.raises(ValidationError, match="No such superbill"):
        superbill_save(organization=other_org, actor=biller, name="Taken", sections=[], diagnoses=[], template=first)
