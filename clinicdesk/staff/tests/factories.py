import factory

from clinicdesk.core.tests.factories import OrganizationFactory
from clinicdesk.staff.models import Skill, StaffMember


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Skill

    organization = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"skill{n}")
    name = factory.Sequence(lambda n: f"Skill {n}")


class StaffMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMember

    organization = factory.SubFactory(OrganizationFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    job_title = "Registered nurse"
