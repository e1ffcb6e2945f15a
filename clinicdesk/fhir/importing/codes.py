"""Which codes of an imported claim line the billing app can hold.

Service lines hold CPT and HCPCS Level II codes (the codes an 837P carries). Synthea bills vaccines by CVX code; the
CDC's CPT–CVX crosswalk gives the CPT vaccine product code for each, so those lines are held under CPT. Encounter
lines in SNOMED CT (a well-child visit, a general examination) have no single CPT code (the E/M level depends on
what was done), so they are skipped with that reason rather than guessed.
"""

from __future__ import annotations

from clinicdesk.billing.choices import CodeSystem
from clinicdesk.billing.models.codes import code_error

CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"
HCPCS_SYSTEMS = ("https://bluebutton.cms.gov/resources/codesystem/hcpcs", "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets")
CVX_SYSTEM = "http://hl7.org/fhir/sid/cvx"
SNOMED_SYSTEM = "http://snomed.info/sct"

SYSTEM_NAMES = {CPT_SYSTEM: "CPT", CVX_SYSTEM: "CVX", SNOMED_SYSTEM: "SNOMED CT",
                "http://loinc.org": "LOINC", "http://www.nlm.nih.gov/research/umls/rxnorm": "RxNorm"}

# CVX vaccine code -> CPT vaccine product code (CDC, "CPT Codes Mapped to CVX Codes"); where the CDC maps several
# CPT codes to one CVX code (by dose or age) the adult or most common presentation is taken.
CVX_TO_CPT = {
    "03": "90707",   # MMR
    "08": "90744",   # Hep B, adolescent or pediatric
    "10": "90713",   # IPV
    "20": "90700",   # DTaP
    "21": "90716",   # varicella
    "33": "90732",   # pneumococcal polysaccharide PPV23
    "43": "90746",   # Hep B, adult
    "49": "90647",   # Hib (PRP-OMP)
    "52": "90632",   # Hep A, adult
    "62": "90649",   # HPV, quadrivalent
    "83": "90633",   # Hep A, ped/adol, 2 dose
    "113": "90714",  # Td (adult) preservative free
    "114": "90734",  # meningococcal MCV4P
    "115": "90715",  # Tdap
    "116": "90680",  # rotavirus, pentavalent
    "119": "90681",  # rotavirus, monovalent
    "121": "90736",  # zoster live
    "133": "90670",  # pneumococcal conjugate PCV 13
    "140": "90656",  # influenza, seasonal, injectable, preservative free
    "141": "90658",  # influenza, seasonal, injectable
    "165": "90651",  # HPV9
    "187": "90750",  # zoster recombinant
    "207": "91301",  # SARS-COV-2 (COVID-19) vaccine, mRNA, 100 mcg/0.5 mL
    "208": "91300",  # SARS-COV-2 (COVID-19) vaccine, mRNA, 30 mcg/0.3 mL
}


def held_code(codings: list[dict]) -> tuple[str, str, str] | tuple[None, None, str]:
    """(code, code system, "") for the first coding a service line can hold, else (None, None, why not)."""
    why = "no code"
    for coding in codings:
        system, code = coding.get("system", ""), (coding.get("code") or "").strip().upper()
        if system == CPT_SYSTEM and not code_error(code, CodeSystem.CPT):
            return code, CodeSystem.CPT, ""
        if system in HCPCS_SYSTEMS and not code_error(code, CodeSystem.HCPCS):
            return code, CodeSystem.HCPCS, ""
        if system == CVX_SYSTEM:
            cpt = CVX_TO_CPT.get(code.lstrip("0").zfill(2))
            if cpt:
                return cpt, CodeSystem.CPT, ""
            why = f"CVX {code} has no CPT vaccine code in the crosswalk"
            continue
        name = SYSTEM_NAMES.get(system, system or "an unnamed code system")
        why = f"{name} codes are not held on service lines (CPT and HCPCS only)"
    return None, None, why
