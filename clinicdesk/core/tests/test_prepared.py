from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinicdesk.core.audit import audit_event
from clinicdesk.core.models import ApiToken, AuditEvent, User
from clinicdesk.core.prepared import PreparedQuery, run_together

pytestmark = pytest.mark.django_db

USER = PreparedQuery(
    lambda pk, organization_id: User.objects.select_related("organization")
    .filter(pk=pk, organization_id=organization_id)
    .annotate(has_token=Exists(ApiToken.objects.filter(user_id=OuterRef("pk"))))
    .order_by()[:1]
)
ACTIONS_SINCE = PreparedQuery(
    lambda organization_id, since: AuditEvent.objects.filter(organization_id=organization_id, created_at__gte=since)
    .order_by("id")
    .values_list("action", flat=True)
)
EVENT_ROWS = PreparedQuery(
    lambda action: AuditEvent.objects.filter(action=action).order_by("id").values_list("id", "actor_id", "changes")
)


def test_instances_match_what_the_queryset_gives(front_desk, administrator):
    # given
    expected = User.objects.select_related("organization").get(pk=front_desk.pk)
    # when
    with CaptureQueriesContext(connection) as queries:
        found = USER.first(pk=front_desk.pk, organization_id=front_desk.organization_id)
        again = USER.first(pk=administrator.pk, organization_id=administrator.organization_id)
        # then the related object came in the same query, and so did the annotation
        assert found.organization.name == expected.organization.name
    assert len(queries) == 2
    assert (found.pk, found.username, found.role, found.date_joined) == (
        expected.pk, expected.username, expected.role, expected.date_joined)
    assert found.has_token is False
    assert again.pk == administrator.pk
    assert not found._state.adding and found._state.db == "default"


def test_no_row_and_numbers_no_column_holds(front_desk):
    assert USER(pk=front_desk.pk, organization_id=front_desk.organization_id + 1) == []
    assert USER(pk=10**30, organization_id=front_desk.organization_id) == []


def test_datetimes_and_json_come_back_as_the_orm_gives_them(front_desk):
    # given
    before = timezone.now() - timedelta(seconds=1)
    audit_event(action="test.prepared", actor=front_desk, changes={"field": ["a", "b"]})
    audit_event(action="test.prepared", actor=front_desk)
    # when
    actions = ACTIONS_SINCE(organization_id=front_desk.organization_id, since=before)
    rows = EVENT_ROWS(action="test.prepared")
    # then
    assert actions == list(AuditEvent.objects.filter(organization_id=front_desk.organization_id, created_at__gte=before)
                           .order_by("id").values_list("action", flat=True))
    assert "test.prepared" in actions
    assert ACTIONS_SINCE(organization_id=front_desk.organization_id, since=timezone.now() + timedelta(hours=1)) == []
    assert [r[2] for r in rows] == [{"field": ["a", "b"]}, {}]
    assert rows == list(AuditEvent.objects.filter(action="test.prepared").order_by("id").values_list("id", "actor_id", "changes"))


def test_the_queryset_is_built_once():
    built = []

    def build(pk):
        built.append(pk)
        return User.objects.filter(pk=pk).order_by()[:1]

    query = PreparedQuery(build)
    query(pk=1)
    query(pk=2)
    assert len(built) == 1


@pytest.mark.parametrize(
    ("build", "params", "message"),
    [
        (lambda ids: User.objects.filter(pk__in=ids), {"ids": [1, 2]}, "ids: list values cannot be prepared"),
        (lambda name: User.objects.filter(username__icontains=name), {"name": "ann"}, "name does not reach the SQL unchanged"),
        (lambda flag: User.objects.filter(is_active=flag), {"flag": True}, "flag: a boolean cannot be told apart"),
    ],
)
def test_a_parameter_the_orm_rewrites_is_refused_by_name(build, params, message):
    with pytest.raises((TypeError, ValueError), match=message):
        PreparedQuery(build)(**params)


def test_several_reads_in_one_round_trip_on_postgresql(front_desk, administrator):
    with CaptureQueriesContext(connection) as queries:
        first, missing, raw, second = run_together(
            (USER, {"pk": front_desk.pk, "organization_id": front_desk.organization_id}),
            (USER, {"pk": front_desk.pk, "organization_id": -1}),
            ("SELECT %s", [7]),
            (USER, {"pk": administrator.pk, "organization_id": administrator.organization_id}),
        )
    assert [u.pk for u in first] == [front_desk.pk]
    assert missing == []
    assert raw == [(7,)]
    assert [u.pk for u in second] == [administrator.pk]
    assert len(queries) == (1 if connection.vendor == "postgresql" else 4)
