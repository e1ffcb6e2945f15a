"""Sign-in: username or e-mail, throttled failures that never reveal whether an account exists,
the two-factor step (TOTP and recovery codes), and an organization's requirement of two-factor sign-in."""

import re

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from clinicdesk.core import services
from clinicdesk.core.models import AuditEvent
from clinicdesk.core.tests.mfa import give_recovery_codes, give_totp, totp_code

from .factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
LOGIN = "/accounts/login/"


def sign_in(client, login, password=PASSWORD, **extra):
    return client.post(LOGIN, {"login": login, "password": password}, **extra)


def errors_of(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def reauthenticate(client, password=PASSWORD) -> None:
    """allauth asks for the password again before two-factor settings change, even right after sign-in."""
    response = client.post(reverse("account_reauthenticate"), {"password": password})
    assert response.status_code == 302, response.content


def activate_totp(client) -> str:
    """Set up an authenticator app through the pages, as the signed-in user would; returns its secret."""
    reauthenticate(client)
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response.status_code == 302 and response.url == reverse("mfa_view_recovery_codes")
    return secret


# --- username or e-mail ---------------------------------------------------------------------------

def test_sign_in_with_username(client, front_desk):
    response = sign_in(client, front_desk.username)
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert is_signed_in(client)
    assert AuditEvent.objects.filter(action="auth.login", actor=front_desk).exists()


def test_sign_in_with_email_in_any_case(client, front_desk):
    response = sign_in(client, front_desk.email.upper())
    assert response.status_code == 302
    assert is_signed_in(client)


def test_deactivated_user_cannot_sign_in(client, front_desk):
    front_desk.is_active = False
    front_desk.save()
    sign_in(client, front_desk.username)
    assert not is_signed_in(client)


def test_sign_in_page_is_in_the_product_layout_without_inline_script(client):
    response = client.get(LOGIN)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="brand"' in html and "Sign in" in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> on the sign-in page"
    assert "style=" not in html and "<style" not in html
    assert "Sign Up" not in html and "sign up" not in html.lower()


def test_self_sign_up_is_closed(client):
    response = client.post("/accounts/signup/", {"username": "mallory", "email": "m@example.com",
                                                   "password1": "x" * 12, "password2": "x" * 12})
    assert response.status_code == 200
    assert not AuditEvent.objects.filter(action="auth.login").exists()
    from clinicdesk.core.models import User

    assert not User.objects.filter(username="mallory").exists()


# --- failures: the same answer for an unknown user and a wrong password, then throttling -----------

def test_unknown_user_and_wrong_password_get_the_same_answer(client, front_desk):
    wrong_password = sign_in(client, front_desk.username, "not-the-password")
    unknown_user = sign_in(client, "nobody-by-that-name", "not-the-password")
    unknown_email = sign_in(client, "nobody@example.com", "not-the-password")
    assert wrong_password.status_code == unknown_user.status_code == unknown_email.status_code == 200
    assert errors_of(wrong_password) == errors_of(unknown_user) == errors_of(unknown_email)
    assert errors_of(wrong_password), "a failed sign-in must say so"


def _fail_then_try(client, login, password_at_the_end, failures=5):
    for _ in range(failures):
        response = sign_in(client, login, "not-the-password")
        assert response.status_code == 200
        assert "Too many" not in " ".join(errors_of(response))
    return sign_in(client, login, password_at_the_end)


def test_after_five_failures_even_the_right_password_is_refused(client, front_desk):
    response = _fail_then_try(client, front_desk.username, PASSWORD)
    assert response.status_code == 200
    assert "Too many failed login attempts" in " ".join(errors_of(response))
    assert not is_signed_in(client)


def test_throttled_answer_is_the_same_for_an_unknown_user(client, front_desk):
    from django.core.cache import cache

    known = _fail_then_try(client, front_desk.username, "not-the-password")
    cache.clear()
    unknown = _fail_then_try(Client(), "nobody-by-that-name", "not-the-password")
    assert known.status_code == unknown.status_code == 200
    assert errors_of(known) == errors_of(unknown)
    assert "Too many failed login attempts" in " ".join(errors_of(unknown))


def test_throttling_follows_the_account_across_addresses(client, front_desk):
    # given five failures from five different addresses
    for i in range(5):
        sign_in(client, front_desk.username, "not-the-password", REMOTE_ADDR=f"10.0.0.{i + 1}")
    # when the right password comes from yet another address
    response = sign_in(client, front_desk.username, PASSWORD, REMOTE_ADDR="10.0.0.99")
    # then the account is still throttled
    assert "Too many failed login attempts" in " ".join(errors_of(response))
    assert not is_signed_in(client)


def test_other_accounts_can_still_sign_in_from_elsewhere(client, front_desk, make_user):
    for _ in range(5):
        sign_in(client, front_desk.username, "not-the-password", REMOTE_ADDR="10.0.0.1")
    other = make_user(username="colleague")
    response = sign_in(Client(), other.username, PASSWORD, REMOTE_ADDR="10.0.0.2")
    assert response.status_code == 302


def test_every_failure_is_audited(client, front_desk):
    sign_in(client, front_desk.username, "nope")
    sign_in(client, "ghost", "nope")
    labels = set(AuditEvent.objects.filter(action="auth.login_failed").values_list("actor_label", flat=True))
    assert labels == {front_desk.username, "ghost"}


# --- the two-factor step --------------------------------------------------------------------------

def test_password_then_totp_code(client, front_desk):
    # given
    secret = give_totp(front_desk)
    # when the password is right
    response = sign_in(client, front_desk.username)
    # then the code is asked for, and nothing is open yet
    assert response.status_code == 302 and response.url == reverse("mfa_authenticate")
    assert not is_signed_in(client)
    assert client.get(reverse("home")).status_code == 302
    page = client.get(reverse("mfa_authenticate"))
    assert page.status_code == 200 and b"Two-factor sign-in" in page.content
    # when the code from the app is entered
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    # then
    assert response.status_code == 302 and response.url == reverse("home")
    assert is_signed_in(client)
    assert client.get(reverse("home")).status_code == 200


def test_wrong_totp_code_is_refused(client, front_desk):
    secret = give_totp(front_desk)
    sign_in(client, front_desk.username)
    wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("mfa_authenticate"), {"code": wrong})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not is_signed_in(client)


def test_a_totp_code_works_only_once(client, front_desk):
    secret = give_totp(front_desk)
    code = totp_code(secret)
    sign_in(client, front_desk.username)
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert is_signed_in(client)
    replay = Client()
    sign_in(replay, front_desk.username)
    response = replay.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 200
    assert not is_signed_in(replay)


def test_recovery_code_signs_in_once(client, front_desk):
    give_totp(front_desk)
    codes = give_recovery_codes(front_desk)
    sign_in(client, front_desk.username)
    response = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert response.status_code == 302
    assert is_signed_in(client)
    again = Client()
    sign_in(again, front_desk.username)
    again.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert not is_signed_in(again)


def test_setting_up_an_authenticator_app_from_the_pages(client, front_desk):
    # given a signed-in user who has confirmed their password
    sign_in(client, front_desk.username)
    assert client.get(reverse("mfa_activate_totp")).url.startswith(reverse("account_reauthenticate"))
    reauthenticate(client)
    # when they open the set-up page
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    secret = page.context["form"].secret
    # and enter the code their app shows
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    # then two-factor is on and recovery codes are shown
    assert response.status_code == 302 and response.url == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(user=front_desk, type=Authenticator.Type.TOTP).exists()
    codes_page = client.get(reverse("mfa_view_recovery_codes"))
    assert codes_page.status_code == 200
    codes = codes_page.context["unused_codes"]
    assert len(codes) == 10 and codes[0] in codes_page.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", codes_page.content.decode())


def test_admin_signs_in_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_admin_refuses_signed_in_staff_without_looping(client_as, administrator):
    client = client_as(administrator)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert len(response.redirect_chain) <= 2


# --- an organization that requires two-factor sign-in ---------------------------------------------

@pytest.fixture
def mfa_org(org):
    org.require_mfa = True
    org.save()
    return org


def test_required_mfa_sends_pages_to_the_set_up(client, mfa_org, front_desk):
    sign_in(client, front_desk.username)
    for url in (reverse("home"), reverse("core:api_tokens"), reverse("patients:list")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url == reverse("mfa_activate_totp"), url
    assert client.get(reverse("mfa_index")).status_code == 200
    reauthenticate(client)
    assert client.get(reverse("mfa_activate_totp")).status_code == 200


def test_required_mfa_refuses_session_api_calls(client, mfa_org, front_desk):
    sign_in(client, front_desk.username)
    response = client.get("/api/v1/me")
    assert response.status_code == 403
    assert "two-factor" in response.json()["detail"]
    assert AuditEvent.objects.filter(action="access.denied", actor=front_desk).exists()


def test_required_mfa_keeps_api_tokens_working(client, mfa_org, front_desk):
    _, secret = services.api_token_create(user=front_desk, name="lab link", scopes=["dashboard.view"], days=30)
    # a token alone
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    # a token beside a session that has not done two-factor: the token decides
    sign_in(client, front_desk.username)
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    # a bad token cannot fall back on that session
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer cdk_not-a-token").status_code == 401


def test_required_mfa_end_to_end(client, mfa_org, front_desk):
    # given a user of an organization that requires two-factor, who has not set it up
    sign_in(client, front_desk.username)
    assert client.get(reverse("home")).url == reverse("mfa_activate_totp")
    # when they set up their app
    activate_totp(client)
    # then the pages and the API open
    assert client.get(reverse("home")).status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    # and the next sign-in asks for the code
    other = Client()
    assert sign_in(other, front_desk.username).url == reverse("mfa_authenticate")


def test_required_mfa_cannot_be_turned_off_by_the_user(client, mfa_org, front_desk):
    sign_in(client, front_desk.username)
    activate_totp(client)
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 200
    assert Authenticator.objects.filter(user=front_desk, type=Authenticator.Type.TOTP).exists()


def test_mfa_can_be_turned_off_when_not_required(client, front_desk):
    sign_in(client, front_desk.username)
    activate_totp(client)
    response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=front_desk, type=Authenticator.Type.TOTP).exists()


def test_users_of_other_organizations_are_not_affected(client, mfa_org, other_org):
    outsider = UserFactory(organization=other_org, username="outsider")
    sign_in(client, outsider.username)
    assert client.get(reverse("home")).status_code == 200
