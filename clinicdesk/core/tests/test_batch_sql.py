"""`model_new`: the same unsaved instance as `Model(**values)`, built the cheap way."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinicdesk.core.batch_sql import model_new
from clinicdesk.core.models import Department

from .factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def _values(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_model_new_gives_the_fields_and_defaults_model_kwargs_give():
    # given
    org = OrganizationFactory()
    owner = UserFactory(organization=org)
    # when
    fast = model_new(Department, organization=org, code="card", name="Cardiology", owner_id=owner.pk)
    plain = Department(organization=org, code="card", name="Cardiology", owner_id=owner.pk)
    # then
    assert _values(fast) == _values(plain)
    assert fast.pk is None and fast._state.adding


def test_a_relation_given_as_an_instance_is_cached_and_none_is_kept():
    org = OrganizationFactory()
    department = model_new(Department, organization=org, code="x", name="X", owner=None)
    with CaptureQueriesContext(connection) as queries:
        assert department.organization is org
        assert department.owner is None
    assert len(queries) == 0
    assert department.organization_id == org.pk and department.owner_id is None


def test_the_instance_saves_like_any_other():
    org = OrganizationFactory()
    department = model_new(Department, organization_id=org.pk, code="ped", name="Pediatrics")
    department.save()
    assert Department.objects.get(pk=department.pk).name == "Pediatrics"


def test_an_unknown_field_is_refused():
    with pytest.raises(TypeError, match="no field 'colour'"):
        model_new(Department, code="x", colour="red")
