import pytest

from clinicdesk.patients.choices import Channel, ConsentStatus
from clinicdesk.patients.models import CommunicationConsent
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import InboundAction
from ..models import InboundMessage
from ..services.replies import reply_act

pytestmark = pytest.mark.django_db


def _reply(org, patient, body, n):
    return InboundMessage.objects.create(organization=org, patient=patient, from_number=patient.phone_mobile,
                                         to_number="+12025550000", body=body, provider_message_id=f"SM{n}")


def test_stop_and_start_change_sms_consent(org):
    patient = PatientFactory(organization=org, phone_mobile="+12025550199")
    assert reply_act(inbound=_reply(org, patient, " stop. ", 1)) == InboundAction.OPTED_OUT
    assert CommunicationConsent.objects.get(patient=patient, channel=Channel.SMS).status == ConsentStatus.OPTED_OUT
    assert reply_act(inbound=_reply(org, patient, "Start", 2)) == InboundAction.OPTED_IN
    assert CommunicationConsent.objects.get(patient=patient, channel=Channel.SMS).status == ConsentStatus.OPTED_IN


def test_anything_else_waits_for_a_person(org):
    patient = PatientFactory(organization=org, phone_mobile="+12025550198")
    inbound = _reply(org, patient, "Can I bring my son too?", 3)
    assert reply_act(inbound=inbound) == InboundAction.NEEDS_STAFF
    inbound.refresh_from_db()
    assert inbound.action == InboundAction.NEEDS_STAFF
    assert not CommunicationConsent.objects.filter(patient=patient).exists()
