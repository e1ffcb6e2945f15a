"""How allauth behaves here: no self sign-up (staff accounts are made by the practice)."""

from allauth.account.adapter import DefaultAccountAdapter


class ClinicAccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False
