"""Payer rule pages: the edits the scrubber applies per payer."""

from django.urls import path

from .views import payer_rules as views

urlpatterns = [
    path("payer-rules/", views.payer_rule_list, name="payer_rule_list"),
    path("payer-rules/new/", views.payer_rule_create, name="payer_rule_create"),
    path("payer-rules/<int:payer_rule_id>/", views.payer_rule_edit, name="payer_rule_edit"),
    path("payer-rules/<int:payer_rule_id>/active/", views.payer_rule_active, name="payer_rule_active"),
    path("payer-rules/<int:payer_rule_id>/try/", views.payer_rule_try, name="payer_rule_try"),
]
