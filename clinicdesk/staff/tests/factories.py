from datetime import date

import factory

from clinicdesk.core.tests.factories import OrganizationFactory
from clinicdesk.staff.choices import CredentialKind
from clinicdesk.staff.models import ChecklistTemplate, Course, Credential, Skill, StaffMember


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


class CredentialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Credential

    staff = factory.SubFactory(StaffMemberFactory)
    organization = factory.SelfAttribute("staff.organization")
    kind = CredentialKind.CPR_BLS
    name = "BLS"
    issued_on = factory.LazyAttribute(lambda c: c.expires_on.replace(year=c.expires_on.year - 2) if c.expires_on else None)
    expires_on = date(2027, 6, 30)


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    organization = factory.SubFactory(OrganizationFactory)
    code = factory.Sequence(lambda n: f"course-{n}")
    name = factory.Sequence(lambda n: f"Course {n}")
    renewal_months = 12


class ChecklistTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistTemplate

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Checklist {n}")
