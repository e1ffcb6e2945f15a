"""The two-step CSV import every import page shares: choose a file and see what each row would do (nothing saved),
then confirm and it is imported (checked again in full: nothing is trusted from the preview). Each import page only
names its forms, its importer, its template and where to go afterwards."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

PREVIEW_LOST = "The preview was lost; choose the file again."


@dataclass
class CsvImport:
    """One import page. `run(file=text, dry_run=..., **carried)` is the importer and returns a result with `errors`,
    `saved` and `counts`; `decode(upload)` turns the uploaded file into text or raises a ValidationError on `file`.
    `carry` names upload-form fields that travel with the previewed file into the confirmation (e.g. a code system).
    `done_message(result, file_name)` is what the office reads after a real import, then it goes to `done_url`.
    The template extends csv_import.html; `unit` names a row of the file there ("row", or "line")."""

    upload_form: type
    confirm_form: type
    template: str
    run: Callable
    decode: Callable[..., str]
    done_url: str
    done_message: Callable[..., str]
    context: dict = field(default_factory=dict)
    carry: tuple[str, ...] = ()

    def response(self, request: HttpRequest) -> HttpResponse:
        form = self.upload_form()
        result = confirm = None
        problems: list[str] = []
        status = 200
        if request.method == "POST" and request.POST.get("step") == "import":
            status = 400
            posted = self.confirm_form(request.POST)
            if posted.is_valid():
                data = posted.cleaned_data
                try:
                    result = self.run(file=data["content"], dry_run=False, **{k: data[k] for k in self.carry})
                except ValidationError as exc:
                    problems.extend(exc.messages)
                else:
                    if result.saved:
                        messages.success(request, self.done_message(result, data.get("file_name") or ""))
                        return redirect(self.done_url)
                    # What the file changes moved since the preview: the new errors show and the file is chosen again.
            else:
                problems.append(PREVIEW_LOST)
        elif request.method == "POST":
            status = 400
            form = self.upload_form(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                carried = {k: form.cleaned_data[k] for k in self.carry}
                try:
                    text = self.decode(upload)
                    result = self.run(file=text, dry_run=True, **carried)
                except ValidationError as exc:
                    form.add_service_errors(exc)
                else:
                    if not result.errors:
                        status = 200
                        confirm = self.confirm_form(initial={"content": text, "file_name": upload.name[:200], **carried})
        return render(request, self.template, {
            "unit": "row", **self.context, "form": form, "result": result, "confirm": confirm, "problems": problems,
        }, status=status)


def imported_counts(result, file_name: str) -> str:
    """The usual message after an import: which file, and how many rows were new, updated and unchanged."""
    counts = result.counts
    return (f"Imported {file_name or 'the file'}: {counts['new']} new, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged.")
