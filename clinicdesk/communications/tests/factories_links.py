"""Factories for links, replies, the timeline and staff tasks."""

from __future__ import annotations

import factory

from clinicdesk.core.choices import Role
from clinicdesk.core.tests.factories import OrganizationFactory
from clinicdesk.patients.tests.factories import PatientFactory

from ..choices import MessageChannel, MessagePurpose, MessageState, StaffTaskKind
from ..models import InboundMessage, Message, StaffTask


class MessageFactory(factory.django.DjangoModelFactory):
    """A message already in the outbox (saved as is: no consent or quiet-hours checks)."""

    class Meta:
        model = Message

    organization = factory.SubFactory(OrganizationFactory)
    patient = factory.SubFactory(PatientFactory, organization=factory.SelfAttribute("..organization"))
    channel = MessageChannel.SMS
    purpose = MessagePurpose.GENERAL
    state = MessageState.DELIVERED
    to_address = factory.LazyAttribute(lambda m: m.patient.phone_mobile if m.patient else "+12025550100")
    body = "See you soon"
    idempotency_key = factory.Sequence(lambda n: f"test-message-{n}")


class InboundMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InboundMessage

    organization = factory.SubFactory(OrganizationFactory)
    patient = factory.SubFactory(PatientFactory, organization=factory.SelfAttribute("..organization"))
    from_number = factory.LazyAttribute(lambda m: m.patient.phone_mobile if m.patient else "+12025550101")
    to_number = "+12025550000"
    body = "Y"
    provider_message_id = factory.Sequence(lambda n: f"SMtest{n:06d}")


class StaffTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffTask

    organization = factory.SubFactory(OrganizationFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
    kind = StaffTaskKind.FOLLOW_UP
    assignee_role = Role.FRONT_DESK
