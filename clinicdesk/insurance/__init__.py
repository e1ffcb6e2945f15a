"""Insurance: payers, coverage, eligibility, claims, X12, remittance posting, denials, contracts."""
