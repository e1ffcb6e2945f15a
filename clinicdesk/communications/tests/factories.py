import factory

from clinicdesk.core.tests.factories import OrganizationFactory

from ..choices import MessagePurpose, TemplateKind
from ..models import MessageTemplate


class MessageTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MessageTemplate

    organization = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"template-{n}")
    name = factory.Sequence(lambda n: f"Template {n}")
    kind = TemplateKind.SMS
    purpose = MessagePurpose.GENERAL
