"""X12 5010 transactions read and written as plain dataclasses: 270/271, 837P, 835, 999, 277CA."""
