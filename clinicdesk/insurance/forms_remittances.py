"""Forms of the remittance pages: the 835 upload (one or more files) and resolving an exception."""

from __future__ import annotations

from django import forms

MAX_FILE_BYTES = 20 * 1024 * 1024


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".835,.txt,.edi,.x12"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        files = data if isinstance(data, list | tuple) else [data]
        return [single(f, initial) for f in files]


class RemittanceUploadForm(forms.Form):
    files = MultipleFileField(label="835 files", help_text="One or more 835 remittance files from the clearinghouse.")

    def clean_files(self):
        files = self.cleaned_data["files"]
        for f in files:
            if f.size > MAX_FILE_BYTES:
                raise forms.ValidationError(f"{f.name} is larger than 20 MB.")
        return files


class ExceptionResolveForm(forms.Form):
    claim_number = forms.CharField(label="Post to claim number", max_length=20, required=False,
                                   help_text="The claim (CLM01) this payment belongs to; it is posted at once.")
    note = forms.CharField(label="Or mark handled, with a note", max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if not data.get("claim_number", "").strip() and not data.get("note", "").strip():
            raise forms.ValidationError("Give the claim number to post to, or a note saying how it was handled.")
        return data
