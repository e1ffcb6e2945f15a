"""Signing in through the real pages: with a password, and with a password plus an authenticator code."""

import re
import time

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from playwright.sync_api import Page, expect

from clinicdesk.core.models import AuditEvent

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"  # UserFactory's


def _fill_sign_in_form(page: Page, login: str, password: str) -> None:
    page.get_by_role("textbox", name=re.compile("username|login", re.I)).fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()


def test_password_sign_in_lands_on_today(page: Page, url, front_desk):
    # given
    page.goto(url("/"))
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    # when
    _fill_sign_in_form(page, front_desk.username, PASSWORD)
    # then
    expect(page).to_have_url(url("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Good day, {front_desk.first_name}")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Patients")).to_be_visible()
    assert AuditEvent.objects.filter(actor=front_desk, action="auth.login").count() == 1


def test_wrong_password_stays_on_the_sign_in_page(page: Page, url, front_desk):
    page.goto(url("/accounts/login/"))
    _fill_sign_in_form(page, front_desk.username, "not-the-password")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("alert")).to_contain_text("do not match an account")
    assert AuditEvent.objects.filter(action="auth.login_failed", actor_label=front_desk.username).count() == 1


def test_sign_in_with_an_authenticator_code(page: Page, url, front_desk):
    # given the user has set up an authenticator app
    secret = generate_totp_secret()
    TOTP.activate(front_desk, secret)
    assert Authenticator.objects.filter(user=front_desk, type=Authenticator.Type.TOTP).exists()
    page.goto(url("/accounts/login/"))
    # when the password is right, a code is asked for before anything else
    _fill_sign_in_form(page, front_desk.username, PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    assert not AuditEvent.objects.filter(actor=front_desk, action="auth.login").exists()
    # and the code the app shows right now lets the user in
    code = format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))
    page.get_by_label(re.compile("code", re.I)).fill(code)
    page.get_by_role("button", name=re.compile("sign in|continue|verify", re.I)).click()
    # then
    expect(page).to_have_url(url("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Good day, {front_desk.first_name}")
    expect(page).to_have_url(url("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Good day, {front_desk.first_name}")
    assert AuditEvent.objects.filter(actor=front_desk, action="auth.login").count() == 1


def test_a_wrong_authenticator_code_does_not_sign_in(page: Page, url, front_desk):
    TOTP.activate(front_desk, generate_totp_secret())
    page.goto(url("/accounts/login/"))
    _fill_sign_in_form(page, front_desk.username, PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.get_by_label(re.compile("code", re.I)).fill("000000")
    page.get_by_role("button", name=re.compile("sign in|continue|verify", re.I)).click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    expect(page.get_by_text(re.compile("incorrect code", re.I))).to_be_visible()
    assert not AuditEvent.objects.filter(actor=front_desk, action="auth.login").exists()
