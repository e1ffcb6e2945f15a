"""The `in_array` lookup: the same rows as `in`, sent on PostgreSQL as one array parameter."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clinicdesk.core.models import Department, User

from .factories import DepartmentFactory, OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_in_array_finds_the_same_rows_as_in_for_ids_and_text():
    # given
    org = OrganizationFactory()
    users = [UserFactory(organization=org) for _ in range(4)]
    wanted = [users[0].pk, users[2].pk, users[2].pk, None]
    # when
    by_array = set(User.objects.filter(pk__in_array=wanted).values_list("pk", flat=True))
    by_in = set(User.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    names = set(User.objects.filter(username__in_array=[users[1].username, 'no"such\\one', "NULL"])
                .values_list("pk", flat=True))
    # then
    assert by_array == by_in == {users[0].pk, users[2].pk}
    assert names == {users[1].pk}


def test_in_array_of_nothing_matches_nothing_without_a_query():
    UserFactory()
    with CaptureQueriesContext(connection) as queries:
        assert list(User.objects.filter(pk__in_array=[])) == []
        assert list(User.objects.filter(pk__in_array=[None])) == []
    assert len(queries) == 0


def test_in_array_on_a_foreign_key_column_and_the_sql_each_engine_gets():
    # given
    org = OrganizationFactory()
    departments = [DepartmentFactory(organization=org) for _ in range(3)]
    # when
    with CaptureQueriesContext(connection) as queries:
        found = list(Department.objects.filter(organization_id__in_array=[org.pk], pk__in_array=[d.pk for d in departments[:2]]))
    # then
    assert sorted(d.pk for d in found) == sorted(d.pk for d in departments[:2])
    sql = queries[0]["sql"]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql and "::bigint[]" in sql and " IN (" not in sql
    else:
        assert " IN (" in sql
