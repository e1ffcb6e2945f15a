import factory

from clinicdesk.core.choices import Role
from clinicdesk.core.models import Department, Location, Organization, Room, User


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Practice {n}")
    slug = factory.Sequence(lambda n: f"practice-{n}")
    mrn_prefix = "T"


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Location {n}")
    code = factory.Sequence(lambda n: f"loc{n}")
    time_zone = "America/New_York"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Department {n}")
    code = factory.Sequence(lambda n: f"dept{n}")


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    location = factory.SubFactory(LocationFactory)
    name = factory.Sequence(lambda n: f"Exam {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    organization = factory.SubFactory(OrganizationFactory)
    role = Role.FRONT_DESK
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()
