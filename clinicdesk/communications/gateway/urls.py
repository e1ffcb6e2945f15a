"""The local SMS gateway under /sms-gateway/: the provider's API paths and the demo phone page."""

from django.urls import path

from . import views

app_name = "sms_gateway"

urlpatterns = [
    path("2010-04-01/Accounts/<str:account_sid>/Messages.json", views.messages_api, name="messages"),
    path("2010-04-01/Accounts/<str:account_sid>/Messages/<str:message_sid>.json", views.message_api, name="message"),
    path("phone/", views.phone, name="phone"),
    path("phone/reply/", views.phone_reply, name="phone_reply"),
]
