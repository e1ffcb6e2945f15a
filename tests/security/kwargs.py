"""URL kwargs filled by name from the fixtures (see conftest.World), for the matrix and the CSRF and XSS tests."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType

from .conftest import World
from .urlwalk import Route

# Kwargs naming a record of one practice: filled from the own or the other practice.
OBJECT_KWARGS = {"public_id", "patient_id", "patient_public_id", "document_id", "document_public_id",
                 "contact_id", "alert_id", "user_id", "token_id"}


class UnfillableKwarg(Exception):
    pass


def fill(route: Route, name: str, practice, world: World, principal) -> object:
    """A value for URL kwarg `name` taken from `practice` (own or other)."""
    if name == "public_id":
        before = route.regex.split("(?P<public_id>")[0]
        return (practice.document if before.endswith("documents/") else practice.patient).public_id
    if name in ("patient_id", "patient_public_id"):
        return practice.patient.public_id
    if name in ("document_id", "document_public_id"):
        return practice.document.public_id
    if name == "contact_id":
        return practice.contact.pk
    if name == "alert_id":
        return practice.alert.pk
    if name == "user_id":
        return practice.target_user.pk
    if name == "token_id":
        if practice is world.own and principal is not None:
            return world.own_token_of(principal).pk
        return practice.token.pk
    # The admin's own patterns (superusers only) and allauth's e-mailed keys: any well-formed value.
    if name == "content_type_id":
        return ContentType.objects.get_for_model(type(practice.patient)).pk
    if name == "object_id":
        return practice.patient.pk
    if name == "app_label":
        return "auth"
    if name == "url":
        return "no-such-page/"
    if name == "key":
        return "not-a-real-key"
    if name == "uidb36":
        return "0"
    raise UnfillableKwarg(name)


def sides(route: Route) -> list[str]:
    objects = [k for k in route.kwarg_names if k in OBJECT_KWARGS]
    if not objects:
        return ["own"]
    return ["own", "other", "mixed"] if len(objects) > 1 else ["own", "other"]


def build_url(route: Route, side: str, world: World, principal) -> str:
    kwargs = {}
    first_object = True
    for name in route.kwarg_names:
        if name in OBJECT_KWARGS:
            practice = world.own if side == "own" or (side == "mixed" and first_object) else world.other
            first_object = False
        else:
            practice = world.own
        kwargs[name] = fill(route, name, practice, world, principal)
    return route.url(kwargs)


def body_of(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")
