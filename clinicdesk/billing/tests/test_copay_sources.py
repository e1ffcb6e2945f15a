"""The copay source registry: billing asks registered sources (the insurance app registers one) for the copay due
at a visit; the first answer wins and none means nothing is prefilled."""

from decimal import Decimal

from clinicdesk.billing.services import copay_sources


def test_the_first_source_with_an_answer_wins(monkeypatch):
    monkeypatch.setattr(copay_sources, "COPAY_SOURCES", [])
    assert copay_sources.copay_due(None, None) is None
    copay_sources.register_copay_source(lambda patient, appointment: None)
    copay_sources.register_copay_source(lambda patient, appointment: "15.00")
    copay_sources.register_copay_source(lambda patient, appointment: Decimal("99.00"))
    assert copay_sources.copay_due(None, None) == Decimal("15.00")


def test_a_source_is_registered_once(monkeypatch):
    monkeypatch.setattr(copay_sources, "COPAY_SOURCES", [])

    def source(patient, appointment):
        return Decimal("5.00")

    copay_sources.register_copay_source(source)
    copay_sources.register_copay_source(source)
    assert len(copay_sources.COPAY_SOURCES) == 1 and copay_sources.COPAY_SOURCES[0] is source
