from django.apps import AppConfig


class InsuranceConfig(AppConfig):
    name = "clinicdesk.insurance"
    label = "insurance"
    verbose_name = "Insurance"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from clinicdesk.core.permissions import Perm

        from . import models

        # Set-up records and coverages are audited field by field; claims and remittances by their services
        # (one row per transition or posting, naming the patient).
        for model in (models.Payer, models.InsurancePlan, models.Clearinghouse, models.Coverage,
                      models.PriorAuthorization, models.PayerContract, models.PayerRule):
            auditlog.register(model)

        # --- coverage: the patient chart's Insurance tab, the check-in panel, the copay due ---
        from clinicdesk.billing.services.copay_sources import register_copay_source
        from clinicdesk.patients.views import PATIENT_TABS, PatientTab, register_patient_tab
        from clinicdesk.scheduling.views.flow import CheckInPanel, register_check_in_panel

        from .services.coverage import copay_from_coverage
        from .views.coverage import check_in_panel, insurance_tab

        PATIENT_TABS.pop("coverage", None)
        register_patient_tab(PatientTab("insurance", "Insurance", "insurance/coverage/patient_tab.html", insurance_tab,
                                        Perm.COVERAGE_VIEW, order=40))
        register_check_in_panel(CheckInPanel("coverage", "Coverage", "insurance/coverage/check_in_panel.html",
                                             check_in_panel, order=20))
        register_copay_source(copay_from_coverage)

        # --- booking: a non-blocking warning when the visit needs an authorisation or there is no coverage ---
        from clinicdesk.scheduling.booking_advisories import register_booking_advisory

        from .selectors.coverage import booking_advisory

        register_booking_advisory(booking_advisory)

        # --- eligibility: the next business day's appointments, checked every night ---
        from datetime import timedelta

        from clinicdesk.core.periodic import register_periodic

        register_periodic("clinicdesk.insurance.tasks.eligibility_check_tomorrow_task", every=timedelta(days=1))
