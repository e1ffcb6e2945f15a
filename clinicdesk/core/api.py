"""API routes for the practice itself: who am I, and what may I do."""

from django.http import HttpRequest
from ninja import Router, Schema

from .api_auth import api_requires
from .permissions import ROLE_PERMISSIONS, Perm

router = Router(tags=["practice"])


class MeOut(Schema):
    id: str
    username: str
    name: str
    role: str
    organization: str
    permissions: list[str]
    token_scopes: list[str] | None


@router.get("/me", response=MeOut, summary="The signed-in user or token owner")
@api_requires(Perm.DASHBOARD)
def me(request: HttpRequest):
    user = request.user
    token = getattr(request, "api_token", None)
    return {
        "id": str(user.pk),
        "username": user.username,
        "name": user.get_full_name(),
        "role": user.role,
        "organization": user.organization.name,
        "permissions": sorted(ROLE_PERMISSIONS.get(user.role, ())),
        "token_scopes": list(token.scopes) if token else None,
    }
