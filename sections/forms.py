from django import forms


class ClaimForm(forms.Form):
    note = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. drafting this week"}),
    )


class VisibilityForm(forms.Form):
    hidden = forms.BooleanField(required=False)


class IdentifierForm(forms.Form):
    identifier = forms.CharField(
        max_length=2000,
        widget=forms.TextInput(
            attrs={"placeholder": "DOI, PMID, PMC id, arXiv id, ISBN or web address"}
        ),
    )


class ManualRecordForm(forms.Form):
    csl_json = forms.CharField(
        required=False,
        max_length=200_000,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        help_text="One CSL-JSON record; empty removes your record.",
    )


class AliasForm(forms.Form):
    target = forms.CharField(
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "doi:10.1038/nature14539"}),
    )
