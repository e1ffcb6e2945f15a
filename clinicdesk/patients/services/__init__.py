"""Every write to patient records. Import services from here: `from clinicdesk.patients import services`."""

from .documents import document_upload as document_upload
from .imports import patient_import as patient_import
from .merge import patient_merge as patient_merge
from .records import alert_add as alert_add
from .records import alert_deactivate as alert_deactivate
from .records import consent_set as consent_set
from .records import emergency_contact_add as emergency_contact_add
from .records import emergency_contact_remove as emergency_contact_remove
from .records import emergency_contact_update as emergency_contact_update
from .records import guarantor_set as guarantor_set
from .records import patient_create as patient_create
from .records import patient_update as patient_update
