from django import forms


class ClaimForm(forms.Form):
    note = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. drafting this week"}),
    )


class VisibilityForm(forms.Form):
    hidden = forms.BooleanField(required=False)
