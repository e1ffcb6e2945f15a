from django.db import models


class AdministrativeSex(models.TextChoices):
    """FHIR administrative-gender."""

    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class GenderIdentity(models.TextChoices):
    """HL7 gender-identity value set (as used by US Core)."""

    BLANK = "", "Not recorded"
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    NON_BINARY = "non-binary", "Non-binary"
    TRANSGENDER_FEMALE = "transgender-female", "Transgender female"
    TRANSGENDER_MALE = "transgender-male", "Transgender male"
    NON_DISCLOSE = "non-disclose", "Does not wish to disclose"
    OTHER = "other", "Other"


class PatientStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DECEASED = "deceased", "Deceased"


class Channel(models.TextChoices):
    SMS = "sms", "Text message"
    EMAIL = "email", "E-mail"
    VOICE = "voice", "Phone call"
    MAIL = "mail", "Mail"


class ConsentStatus(models.TextChoices):
    OPTED_IN = "opted_in", "Opted in"
    OPTED_OUT = "opted_out", "Opted out"


class AlertKind(models.TextChoices):
    INTERPRETER = "interpreter", "Needs interpreter"
    COLLECTIONS_HOLD = "collections_hold", "Collections hold"
    FALL_RISK = "fall_risk", "Fall risk"
    ALLERGY = "allergy", "Allergy"
    ACCESSIBILITY = "accessibility", "Accessibility need"
    OTHER = "other", "Other"


class Relationship(models.TextChoices):
    SELF = "self", "Self"
    SPOUSE = "spouse", "Spouse"
    PARENT = "parent", "Parent"
    CHILD = "child", "Child"
    GUARDIAN = "guardian", "Legal guardian"
    SIBLING = "sibling", "Sibling"
    FRIEND = "friend", "Friend"
    OTHER = "other", "Other"


class DocumentCategory(models.TextChoices):
    ID = "id", "ID"
    INSURANCE_CARD = "insurance_card", "Insurance card"
    REFERRAL = "referral", "Referral"
    CONSENT = "consent", "Consent"
    CORRESPONDENCE = "correspondence", "Correspondence"
    LAB = "lab", "Lab"
    OTHER = "other", "Other"
