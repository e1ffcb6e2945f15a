"""Staff pages of the ledger, under /ledger/."""

from django.urls import path  # noqa: F401

app_name = "ledger"

urlpatterns = []
