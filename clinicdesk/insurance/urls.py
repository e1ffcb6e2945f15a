from .urls_remittances import urlpatterns as _remittances

app_name = "insurance"

urlpatterns = [*_remittances]
