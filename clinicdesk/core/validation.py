"""Model validation as services use it: on top of their own checks, every problem reported by field at once."""

from collections.abc import Sequence

from django.core.exceptions import ValidationError


def full_clean_or_raise(instance, errors: dict | None = None, *, exclude: Sequence[str] = ()) -> None:
    """Run `full_clean`, adding its problems to the service's `errors` (fields that already failed are not
    checked twice), and raise one ValidationError naming every field if anything is wrong."""
    errors = errors if errors is not None else {}
    try:
        instance.full_clean(exclude=list({*exclude, *errors}))
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            current = errors.get(field)
            if current is None:
                errors[field] = list(messages)
            elif isinstance(current, list):
                current.extend(m for m in messages if m not in current)
    if errors:
        raise ValidationError(errors)
