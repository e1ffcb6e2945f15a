"""The local card processor under /card-processor/: Stripe's API paths (v1)."""

from django.urls import path

from . import views

app_name = "card_processor"

urlpatterns = [
    path("v1/payment_methods", views.payment_methods, name="payment_methods"),
    path("v1/payment_intents", views.payment_intents, name="payment_intents"),
    path("v1/payment_intents/<str:intent_id>", views.payment_intent, name="payment_intent"),
    path("v1/payment_intents/<str:intent_id>/capture", views.payment_intent_capture, name="payment_intent_capture"),
    path("v1/payment_intents/<str:intent_id>/cancel", views.payment_intent_cancel, name="payment_intent_cancel"),
    path("v1/refunds", views.refunds, name="refunds"),
    path("v1/refunds/<str:refund_id>", views.refund, name="refund"),
    path("v1/payment_methods/<str:pm_id>", views.payment_method, name="payment_method"),
    path("v1/payouts", views.payouts, name="payouts"),
    path("v1/payouts/<str:processor_payout_id>", views.payout, name="payout"),
    path("v1/balance_transactions", views.balance_transactions, name="balance_transactions"),
]
