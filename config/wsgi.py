import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# The SMS gateway's API and delivery receipts skip the page middleware (see the module's docstring).
from clinicdesk.communications.gateway.wsgi import split_machine_calls  # noqa: E402

application = split_machine_calls(application)

# The ICD-10-CM search index takes seconds to build; build it while the server starts, so the first person who
# codes a visit does not wait for it.
from django.conf import settings  # noqa: E402

if settings.ICD10_WARM_AT_START:
    import threading

    from clinicdesk.billing import icd10

    threading.Thread(target=icd10.index, name="icd10-index", daemon=True).start()
