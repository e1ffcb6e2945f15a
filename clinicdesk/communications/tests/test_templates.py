import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import TemplateKind
from ..defaults import DEFAULTS, defaults_install
from ..models import MessageTemplate, TemplateVersion
from ..rendering import template_check
from ..selectors.templates import letter_templates, template_list
from ..services.templates import (
    template_activate,
    template_create,
    template_current,
    template_deactivate,
    template_preview,
    template_version_save,
)
from .factories_letters import make_template

pytestmark = pytest.mark.django_db


def test_create_keeps_the_first_version_with_its_merge_fields(org, administrator):
    template = template_create(actor=administrator, organization=org, code="post-op", name="After surgery", kind="email",
                               subject="Hello {{ patient.first_name }}", body="See you {{ appointment.date }}.")
    assert template.current.number == 1
    assert template.current.merge_fields == ["appointment.date", "patient.first_name"]
    assert AuditEvent.objects.filter(action="template.created", target_id=str(template.pk)).exists()


def test_an_unknown_field_is_refused_by_name_and_nothing_is_saved(org, administrator):
    with pytest.raises(ValidationError) as refused:
        template_create(actor=administrator, organization=org, code="bad", name="Bad", kind="letter", subject="",
                        body="<p>Dear {{ patient.first_name }}</p>\n<p>SSN {{ patient.ssn }}</p>")
    assert refused.value.message_dict["body"] == ["Unknown merge field 'patient.ssn' (line 2)."]
    assert not MessageTemplate.objects.exists() and not TemplateVersion.objects.exists()


def test_create_reports_every_problem_at_once(org, administrator):
    make_template(org, code="taken")
    with pytest.raises(ValidationError) as refused:
        template_create(actor=administrator, organization=org, code="taken", name="", kind="email", subject="", body="{{ x }}")
    assert {"code", "name", "subject", "body"} <= set(refused.value.message_dict)


def test_a_new_version_never_changes_the_old_one(org, administrator):
    # given a template at version 1
    template = make_template(org)
    first = template.current
    # when new wording is saved twice
    second = template_version_save(actor=administrator, template=template, subject="New {{ patient.first_name }}",
                                   body="<p>Changed {{ today }}</p>")
    third = template_version_save(actor=administrator, template=template, subject="", body="<p>Again</p>")
    # then the numbers go up, the template points at the newest, and version 1 is as it was
    template.refresh_from_db()
    assert (second.number, third.number, template.current_id) == (2, 3, third.pk)
    first.refresh_from_db()
    assert "{{ patient.display_name }}" in first.body and first.number == 1
    assert second.merge_fields == ["patient.first_name", "today"]


def test_a_refused_version_leaves_the_current_one(org, administrator):
    template = make_template(org)
    with pytest.raises(ValidationError, match="include"):
        template_version_save(actor=administrator, template=template, subject="", body='{% include "x.html" %}')
    template.refresh_from_db()
    assert template.current.number == 1 and template.versions.count() == 1


def test_only_template_managers_change_templates(org, front_desk, make_user, other_org):
    template = make_template(org)
    with pytest.raises(PermissionDenied):
        template_version_save(actor=front_desk, template=template, subject="", body="<p>x</p>")
    stranger = make_user(Role.ADMINISTRATOR, organization=other_org, username="stranger")
    with pytest.raises(ValidationError, match="another practice"):
        template_deactivate(actor=stranger, template=template)


def test_current_by_code_and_retiring(org, administrator):
    template = make_template(org, code="welcome-note")
    assert template_current(organization=org, code="welcome-note").pk == template.current_id
    template_deactivate(actor=administrator, template=template)
    with pytest.raises(ValidationError) as missing:
        template_current(organization=org, code="welcome-note")
    assert "'welcome-note'" in missing.value.message_dict["template"][0]
    assert not letter_templates(actor=administrator).exists()
    template_activate(actor=administrator, template=template)
    assert list(letter_templates(actor=administrator)) == [template]


def test_preview_with_sample_data_is_not_audited_and_with_a_patient_it_is(org, front_desk):
    template = make_template(org)
    sample = template_preview(actor=front_desk, template=template)
    assert "Ana Álvarez" in sample.html and not AuditEvent.objects.filter(action="template.previewed").exists()
    patient = PatientFactory(organization=org, first_name="Zed", last_name="Quist")
    real = template_preview(actor=front_desk, template=template, patient=patient)
    assert "Zed Quist" in real.html and real.subject.startswith("Results for Zed")
    assert AuditEvent.objects.get(action="template.previewed").patient_id == patient.pk


def test_preview_refuses_another_practices_patient(org, other_org, front_desk):
    template = make_template(org)
    with pytest.raises(ValidationError, match="another practice"):
        template_preview(actor=front_desk, template=template, patient=PatientFactory(organization=other_org))


def test_unsaved_wording_previews_and_is_checked(org, front_desk):
    rendered = template_preview(actor=front_desk, kind="sms", subject="", body="Hi {{ patient.first_name }}")
    assert rendered.text == "Hi Ana" and rendered.html == ""
    with pytest.raises(ValidationError, match="date_of_birth"):
        template_preview(actor=front_desk, kind="sms", subject="", body="{{ patient.date_of_birth }}")


def test_template_list_filters_by_kind_and_status(org, administrator):
    make_template(org, code="a-letter")
    make_template(org, code="a-text", kind=TemplateKind.SMS, subject="", body="Hi {{ patient.first_name }}")
    retired = make_template(org, code="old-letter")
    template_deactivate(actor=administrator, template=retired)
    assert [t.code for t in template_list(actor=administrator, kind="sms")] == ["a-text"]
    assert [t.code for t in template_list(actor=administrator, active="no")] == ["old-letter"]
    assert len(template_list(actor=administrator, active="all")) == 3


# --- the defaults -----------------------------------------------------------------------------------------------


def test_every_default_passes_the_check():
    for default in DEFAULTS:
        assert template_check(kind=default.kind, subject=default.subject, body=default.body) is not None, default.code


def test_defaults_cover_the_brief_and_install_once(org, administrator):
    wanted = {"referral", "work-excuse", "school-excuse", "normal-results", "missed-appointment", "welcome",
              "account-past-due", "final-notice", "dismissal", "reminder-email", "confirmation-email",
              "waitlist-offer-email", "recall-email", "statement-ready-email", "balance-reminder-email",
              "letter-link-email", "reminder-sms", "waitlist-offer-sms", "recall-sms", "balance-reminder-sms"}
    assert {d.code for d in DEFAULTS} == wanted
    assert defaults_install(organization=org, actor=administrator) == len(wanted)
    # an office changes one wording; installing again changes nothing
    reminder = MessageTemplate.objects.get(organization=org, code="reminder-sms")
    template_version_save(actor=administrator, template=reminder, subject="", body="See you {{ appointment.date }}")
    assert defaults_install(organization=org, actor=administrator) == 0
    reminder.refresh_from_db()
    assert reminder.current.number == 2 and MessageTemplate.objects.filter(organization=org).count() == len(wanted)


def test_the_text_reminder_explains_the_reply_words():
    body = next(d.body for d in DEFAULTS if d.code == "reminder-sms")
    assert "Reply C to confirm, N to cancel" in body and "R to reschedule" in body and "{{ links.confirm_url }}" in body
    offer = next(d.body for d in DEFAULTS if d.code == "waitlist-offer-sms")
    assert "Reply Y" in offer and "N to pass" in offer
