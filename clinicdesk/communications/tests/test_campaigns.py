"""Bulk campaigns: audience filters, the pace, unsubscribe links, cancelling and the pages."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinicdesk.core.choices import Role
from clinicdesk.core.models import AuditEvent
from clinicdesk.patients.choices import Channel, ConsentStatus
from clinicdesk.patients.models import CommunicationConsent
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import CampaignStatus, LinkAction, MessageChannel, MessageState, TemplateKind
from ..models import ActionLink, Campaign, Message
from ..services import campaigns as services
from ..services.templates import template_create

pytestmark = pytest.mark.django_db

EMAIL_BODY = "Hello {{ patient.first_name }}, flu shots are here. Unsubscribe: {{ links.unsubscribe_url }}"


@pytest.fixture(autouse=True)
def stored_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
    settings.COMMUNICATIONS_QUIET_HOURS = ("23:59", "00:00")


@pytest.fixture
def manager(make_user):
    return make_user(Role.OFFICE_MANAGER, username="manager1")


@pytest.fixture
def flu_email(org, manager):
    return template_create(actor=manager, organization=org, code="flu-email", name="Flu shots", kind=TemplateKind.EMAIL,
                           purpose="campaign", subject="Flu shots are here", body=EMAIL_BODY)


def _born(years: int) -> date:
    today = timezone.localdate()
    return today.replace(year=today.year - years) - timedelta(days=10)


def test_filters_are_checked_by_name(org):
    with pytest.raises(ValidationError) as caught:
        services.campaign_filters_clean(organization=org, filters={"age_min": "old", "shoe_size": 9, "visit_type": "nope",
                                                                    "seen_since": "yesterday"})
    assert set(caught.value.message_dict) == {"age_min", "shoe_size", "visit_type", "seen_since"}


def test_the_audience_follows_age_and_sex(org):
    young = PatientFactory(organization=org, date_of_birth=_born(30), sex="female")
    old = PatientFactory(organization=org, date_of_birth=_born(70), sex="female")
    PatientFactory(organization=org, date_of_birth=_born(70), sex="male")
    PatientFactory(organization=org, date_of_birth=_born(70), sex="female", status="inactive")
    filters = services.campaign_filters_clean(organization=org, filters={"age_min": 65, "sex": "female"})
    assert list(services.campaign_audience(organization=org, filters=filters)) == [old]
    filters = services.campaign_filters_clean(organization=org, filters={"age_max": 40})
    assert list(services.campaign_audience(organization=org, filters=filters)) == [young]


def test_a_campaign_needs_an_opt_out_in_its_template(org, manager):
    body = "Hello {{ patient.first_name }}, flu shots are here."
    no_link = template_create(actor=manager, organization=org, code="bad-email", name="Bad", kind=TemplateKind.EMAIL,
                              purpose="campaign", subject="Flu", body=body)
    with pytest.raises(ValidationError, match="unsubscribe link"):
        services.campaign_create(actor=manager, name="Flu", channel=MessageChannel.EMAIL, template=no_link, filters={})
    no_stop = template_create(actor=manager, organization=org, code="bad-sms", name="Bad SMS", kind=TemplateKind.SMS,
                              purpose="campaign", subject="", body=body)
    with pytest.raises(ValidationError, match="opt out"):
        services.campaign_create(actor=manager, name="Flu", channel=MessageChannel.SMS, template=no_stop, filters={})
    assert not Campaign.objects.exists()


def test_a_running_campaign_queues_one_paced_message_per_patient_and_honours_opt_outs(org, manager, flu_email):
    # given three patients, one of whom opted out of e-mail
    patients = [PatientFactory(organization=org, email=f"p{n}@example.com") for n in range(3)]
    CommunicationConsent.objects.create(patient=patients[2], channel=Channel.EMAIL, status=ConsentStatus.OPTED_OUT)
    campaign = services.campaign_create(actor=manager, name="Flu", channel=MessageChannel.EMAIL, template=flu_email,
                                        filters={}, per_minute=30)
    # when it starts and its run queues the messages (twice, as after a crash)
    services.campaign_start(actor=manager, campaign=campaign)
    assert services.campaign_queue_messages(campaign_id=campaign.pk) == 3
    assert services.campaign_queue_messages(campaign_id=campaign.pk) == 0
    # then
    messages = list(Message.objects.filter(campaign=campaign).order_by("send_after"))
    assert [m.state for m in messages].count(MessageState.SUPPRESSED) == 1
    queued = [m for m in messages if m.state == MessageState.QUEUED]
    assert queued[1].send_after - queued[0].send_after == timedelta(seconds=2)  # 30 a minute
    assert all("/m/" in m.body and m.patient.first_name in m.body for m in queued)
    campaign.refresh_from_db()
    assert campaign.recipients == 3 and campaign.suppressed == 1
    progress = services.campaign_progress(campaign=campaign)
    assert progress.percent == 100 and progress.by_state[MessageState.QUEUED] == 2


def test_the_unsubscribe_link_opts_out_once(client, org, manager, flu_email):
    patient = PatientFactory(organization=org, email="u@example.com")
    campaign = services.campaign_create(actor=manager, name="Flu", channel=MessageChannel.EMAIL, template=flu_email, filters={})
    services.campaign_start(actor=manager, campaign=campaign)
    services.campaign_queue_messages(campaign_id=campaign.pk)
    link = ActionLink.objects.get(action=LinkAction.UNSUBSCRIBE, patient=patient)
    message = Message.objects.get(campaign=campaign)
    token = message.body.split("/m/")[1].split("/")[0]
    page = client.get(reverse("communications_public:link", args=[token]))
    assert page.status_code == 200 and "Unsubscribe" in page.content.decode()
    assert not CommunicationConsent.objects.filter(patient=patient).exists()  # GET changes nothing
    done = client.post(reverse("communications_public:link", args=[token]))
    assert done.status_code == 200 and "unsubscribed" in done.content.decode()
    consent = CommunicationConsent.objects.get(patient=patient, channel=Channel.EMAIL)
    assert consent.status == ConsentStatus.OPTED_OUT and consent.source == "Unsubscribe link"
    link.refresh_from_db()
    assert link.used_at is not None
    assert client.post(reverse("communications_public:link", args=[token])).status_code == 410


def test_cancelling_keeps_waiting_messages_unsent_with_the_reason(org, manager, flu_email):
    PatientFactory(organization=org, email="c@example.com")
    campaign = services.campaign_create(actor=manager, name="Flu", channel=MessageChannel.EMAIL, template=flu_email, filters={})
    services.campaign_start(actor=manager, campaign=campaign)
    services.campaign_queue_messages(campaign_id=campaign.pk)
    assert services.campaign_cancel(actor=manager, campaign=campaign) == 1
    message = Message.objects.get(campaign=campaign)
    assert message.state == MessageState.SUPPRESSED and "cancelled" in message.reason
    assert message.events.last().state == MessageState.SUPPRESSED
    with pytest.raises(ValidationError):
        services.campaign_start(actor=manager, campaign=campaign)


def test_the_pages_count_start_and_report(client_as, org, manager, flu_email, front_desk):
    PatientFactory(organization=org, email="v@example.com", date_of_birth=_born(50))
    client = client_as(manager)
    counted = client.post(reverse("communications:campaign_new"), {
        "name": "Flu", "channel": "email", "template": flu_email.pk, "per_minute": 60, "age_min": 40, "count": "1"})
    assert counted.status_code == 200 and "<strong>1</strong> patient match" in counted.content.decode()
    bad = client.post(reverse("communications:campaign_new"), {
        "name": "Flu", "channel": "email", "template": flu_email.pk, "per_minute": 60, "age_min": 60, "age_max": 20})
    assert bad.status_code == 400 and "below the lowest" in bad.content.decode()
    saved = client.post(reverse("communications:campaign_new"), {
        "name": "Flu", "channel": "email", "template": flu_email.pk, "per_minute": 60, "age_min": 40})
    campaign = Campaign.objects.get()
    assert saved.status_code == 302 and campaign.filters == {"age_min": 40}
    client.post(reverse("communications:campaign_start", args=[campaign.pk]))
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING
    services.campaign_queue_messages(campaign_id=campaign.pk)
    report = client.get(reverse("communications:campaign_report", args=[campaign.pk]))
    body = b"".join(report.streaming_content).decode()
    assert "v@example.com" in body and "Queued" in body
    assert AuditEvent.objects.filter(action="patient.exported", summary__contains="campaign report").count() == 1
    assert client_as(front_desk).get(reverse("communications:campaigns")).status_code == 403


def test_the_campaign_list_costs_the_same_queries_for_more_rows(client_as, org, manager, flu_email):
    client = client_as(manager)
    services.campaign_create(actor=manager, name="One", channel="email", template=flu_email, filters={})
    client.get(reverse("communications:campaigns"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("communications:campaigns"))
    for n in range(5):
        services.campaign_create(actor=manager, name=f"More {n}", channel="email", template=flu_email, filters={})
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("communications:campaigns"))
    assert len(many) == len(few)
