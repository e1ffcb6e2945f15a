import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# The SMS gateway's API and delivery receipts skip the page middleware (see the module's docstring).
from clinicdesk.communications.gateway.wsgi import split_machine_calls  # noqa: E402

application = split_machine_calls(application)
