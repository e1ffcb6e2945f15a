"""Payer rule pages and services: each kind's values checked and explained, the list (filters, CSV, query count),
switching off and on, the audit rows, and trying a rule on a claim."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.insurance.choices import PayerRuleKind, ScrubSeverity
from clinicdesk.insurance.models import Payer, PayerRule
from clinicdesk.insurance.services.claims import claims_build
from clinicdesk.insurance.services.payer_rules import payer_rule_create, payer_rule_set_active, payer_rule_update
from clinicdesk.scheduling.tests.factories import AppointmentTypeFactory

from .claims_world import ClaimsWorld

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(org):
    return ClaimsWorld(org)


def _rule(w, kind=PayerRuleKind.REQUIRE_MODIFIER, codes="97110", values="GP", payer=None, **kw):
    return payer_rule_create(organization=w.org, actor=w.biller, payer=payer or w.payer, kind=kind, codes=codes,
                             values=values, **kw)


@pytest.mark.parametrize(("kind", "codes", "values", "field", "words"), [
    (PayerRuleKind.MAX_UNITS, "97110", "0", "values", "whole number greater than zero"),
    (PayerRuleKind.MAX_UNITS, "97110", "2.5", "values", "whole number"),
    (PayerRuleKind.MAX_UNITS, "97110", "4, 5", "values", "one whole number"),
    (PayerRuleKind.REQUIRE_MODIFIER, "97110", "GPX", "values", "'GPX' is not a modifier"),
    (PayerRuleKind.REQUIRE_MODIFIER, "97110", "", "values", "Name the modifier"),
    (PayerRuleKind.FORBID_CODE, "97110", "25", "values", "takes no values"),
    (PayerRuleKind.REQUIRE_DIAGNOSIS_PREFIX, "97110", "54M", "values", "'54M' is not the start of an ICD-10-CM"),
    (PayerRuleKind.REQUIRE_AUTH, "97110", "Massage", "values", "'Massage' is not one of the practice's appointment"),
    (PayerRuleKind.FORBID_CODE, "9711", "", "codes", "'9711' is not a procedure code"),
    (PayerRuleKind.FORBID_CODE, " , ", "", "codes", "at least one procedure code"),
])
def test_each_kind_refuses_values_it_cannot_use(w, kind, codes, values, field, words):
    with pytest.raises(ValidationError) as caught:
        _rule(w, kind=kind, codes=codes, values=values)
    assert words in " ".join(caught.value.message_dict[field])
    assert not PayerRule.objects.exists()


def test_values_are_stored_in_the_shape_the_scrubber_reads(w):
    AppointmentTypeFactory(organization=w.org, name="Physical therapy")
    rule = _rule(w, codes="97110 97140, 97110", values="gp; 59")
    assert (rule.codes, rule.values) == ("97110,97140", "GP,59")
    units = _rule(w, kind=PayerRuleKind.MAX_UNITS, values=" 04 ")
    assert units.values == "4"
    auth = _rule(w, kind=PayerRuleKind.REQUIRE_AUTH, payer=None, values="physical THERAPY")
    assert auth.values == "Physical therapy"
    audit = AuditEvent.objects.filter(action="payer_rule.created")
    assert audit.count() == 3 and "Acme Health" in audit.first().summary


def test_update_and_switch_off_are_audited_and_refused_twice(w):
    rule = _rule(w)
    payer_rule_update(rule=rule, actor=w.biller, payer=None, kind=PayerRuleKind.REQUIRE_MODIFIER, codes="97110",
                      values="GO", severity=ScrubSeverity.WARNING)
    rule.refresh_from_db()
    assert (rule.payer_id, rule.values, rule.severity) == (None, "GO", ScrubSeverity.WARNING)
    payer_rule_set_active(rule=rule, actor=w.biller, active=False)
    with pytest.raises(ValidationError, match="already switched off"):
        payer_rule_set_active(rule=rule, actor=w.biller, active=False)
    actions = set(AuditEvent.objects.filter(action__startswith="payer_rule.").values_list("action", flat=True))
    assert actions == {"payer_rule.created", "payer_rule.changed", "payer_rule.deactivated"}


def test_another_practices_payer_is_refused(w, other_org):
    foreign = Payer.objects.create(organization=other_org, name="Elsewhere", payer_identifier="ELSE1")
    with pytest.raises(ValidationError, match="another practice"):
        _rule(w, payer=foreign)


def test_create_edit_and_toggle_pages(w, client_as):
    client = client_as(w.biller)
    page = client.get(reverse("insurance:payer_rule_create") + f"?payer={w.payer.pk}")
    assert page.status_code == 200 and "At most N units" in page.content.decode()
    bad = client.post(reverse("insurance:payer_rule_create"), {
        "payer": w.payer.pk, "kind": PayerRuleKind.MAX_UNITS, "codes": "97110", "values": "lots", "severity": "error"})
    assert bad.status_code == 400 and "one whole number greater than zero" in bad.content.decode()
    assert not PayerRule.objects.exists()
    made = client.post(reverse("insurance:payer_rule_create"), {
        "payer": w.payer.pk, "kind": PayerRuleKind.MAX_UNITS, "codes": "97110", "values": "4", "severity": "error"})
    rule = PayerRule.objects.get()
    assert made.status_code == 302 and made.url == reverse("insurance:payer_rule_edit", args=[rule.pk])
    client.post(reverse("insurance:payer_rule_edit", args=[rule.pk]), {
        "payer": "", "kind": PayerRuleKind.MAX_UNITS, "codes": "97110,97140", "values": "3", "severity": "warning"})
    rule.refresh_from_db()
    assert (rule.payer_id, rule.codes, rule.values) == (None, "97110,97140", "3")
    client.post(reverse("insurance:payer_rule_active", args=[rule.pk]), {"active": "no"})
    assert not PayerRule.objects.get().is_active
    client.post(reverse("insurance:payer_rule_active", args=[rule.pk]), {"active": "yes", "next": "list"})
    assert PayerRule.objects.get().is_active


def test_list_filters_and_exports(w, client_as):
    other = Payer.objects.create(organization=w.org, name="Zenith Care", payer_identifier="ZEN1")
    _rule(w)
    off = _rule(w, payer=other, kind=PayerRuleKind.FORBID_CODE, codes="99999", values="")
    payer_rule_set_active(rule=off, actor=w.biller, active=False)
    client = client_as(w.biller)
    url = reverse("insurance:payer_rule_list")
    assert client.get(url).content.decode().count('id="rule-') == 2
    only_zenith = client.get(url, {"payer": other.pk}).content.decode()
    assert "99999" in only_zenith and "97110" not in only_zenith
    assert "99999" not in client.get(url, {"active": "yes"}).content.decode()
    assert "97110" not in client.get(url, {"kind": PayerRuleKind.FORBID_CODE}).content.decode()
    csv = b"".join(client.get(url, {"active": "no", "format": "csv"}).streaming_content).decode()
    assert csv.splitlines()[0].lstrip("\ufeff").startswith("payer,payer_id,kind") and "Zenith Care,ZEN1" in csv and "97110" not in csv
    assert client.get(url, {"kind": "nonsense"}).status_code == 400


def test_list_query_count_does_not_grow_with_rules(w, client_as):
    _rule(w)
    client = client_as(w.biller)
    url = reverse("insurance:payer_rule_list")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(5):
        payer = Payer.objects.create(organization=w.org, name=f"Payer {n}", payer_identifier=f"PN{n}")
        _rule(w, payer=payer, codes=f"9714{n}")
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).content.decode().count('id="rule-') == 6
    # each new payer adds one option to the filter, but no query
    assert len(many) == len(few)


def test_try_a_rule_on_a_claim(w, client_as):
    [claim] = claims_build(actor=w.biller, encounters=[w.posted(services=(("97110", "", 1),))])
    rule = _rule(w)
    client = client_as(w.biller)
    url = reverse("insurance:payer_rule_try", args=[rule.pk])
    found = client.get(url, {"claim": claim.claim_number})
    assert found.status_code == 200 and "needs one of the modifiers GP" in found.content.decode()
    assert AuditEvent.objects.filter(action="claim.viewed", patient_id=claim.patient_id).exists()
    assert "No claim of the practice" in client.get(url, {"claim": "NOPE"}).content.decode()
    other = Payer.objects.create(organization=w.org, name="Zenith Care", payer_identifier="ZEN1")
    elsewhere = _rule(w, payer=other)
    body = client.get(reverse("insurance:payer_rule_try", args=[elsewhere.pk]), {"claim": claim.claim_number})
    assert "does not apply to this claim" in body.content.decode()
    assert not claim.findings.exists()  # trying saves nothing


def test_front_desk_cannot_manage_rules_and_other_practice_is_404(w, client_as, make_user, other_org):
    rule = _rule(w)
    desk = make_user(Role.FRONT_DESK, username="desk")
    assert client_as(desk).get(reverse("insurance:payer_rule_list")).status_code == 403
    outsider = make_user(Role.BILLER, organization=other_org, username="outsider")
    assert client_as(outsider).get(reverse("insurance:payer_rule_edit", args=[rule.pk])).status_code == 404


def test_payer_page_links_to_its_rules(w, client_as):
    _rule(w)
    body = client_as(w.biller).get(reverse("insurance:payer_detail", args=[w.payer.pk])).content.decode()
    assert f"{reverse('insurance:payer_rule_list')}?payer={w.payer.pk}" in body and "Payer rules (1)" in body
