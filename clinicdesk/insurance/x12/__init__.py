"""X12 5010 transactions read and written as plain dataclasses (no models, no database).

- `segments`: `read_interchange` (tokenizer, ISA/GS/ST envelopes, control numbers and counts), `InterchangeWriter`,
  `Envelope`, `X12Error` (which names the segment by ordinal and id).
- `x270`: `build_270`, `read_270` (eligibility inquiries, 005010X279A1).
- `x271`: `read_271`, `write_271` (benefits per subscriber and dependent: active, copays, deductibles ...).
- `x837p`: `build_837p`, `read_837p` (professional claims, 005010X222A1).
- `x835`: `read_835`, `write_835` (remittances with their balance check, 005010X221A1).
- `x999`: `read_999`, `write_999`, `acknowledge` (implementation acknowledgements, 005010X231A1).
- `x277ca`: `read_277ca`, `write_277ca`, `acknowledge_claims` (claim acknowledgements, 005010X214).
- `codes`: short descriptions of CARC, RARC, claim status, service type and place of service codes.
- `npi`: the NPI check digit.
"""
