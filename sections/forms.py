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


class EditForm(forms.Form):
    title = forms.CharField(max_length=500)
    body = forms.CharField(
        required=False,
        strip=False,
        max_length=1_000_000,
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "true"}),
    )
    summary = forms.CharField(
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "What did you change?"}),
    )
    # The revision the editor started from, so a save can tell what changed since.
    base = forms.IntegerField(required=False, widget=forms.HiddenInput)


class LivePreviewForm(forms.Form):
    title = forms.CharField(max_length=500, required=False)
    body = forms.CharField(required=False, strip=False, max_length=1_000_000)


class CompareForm(forms.Form):
    old = forms.IntegerField(min_value=1)
    new = forms.IntegerField(min_value=1)


class SectionTitleForm(forms.Form):
    title = forms.CharField(max_length=500)


class AddSectionForm(SectionTitleForm):
    # The "Add inside" button sends as_child; "Add after" sends nothing.
    as_child = forms.BooleanField(required=False)


class MoveForm(forms.Form):
    direction = forms.ChoiceField(choices=[("up", "Up"), ("down", "Down")])


COMMENT_ERRORS = {
    "required": "Write something first.",
    "max_length": "A comment is at most 10,000 characters.",
}


class CommentForm(forms.Form):
    """A new thread: its text, and the passage it is about (optional)."""

    body = forms.CharField(
        max_length=10_000, error_messages=COMMENT_ERRORS, widget=forms.Textarea
    )
    quote = forms.CharField(
        required=False,
        max_length=5_000,
        error_messages={"max_length": "Quote at most 5,000 characters."},
        widget=forms.Textarea,
    )


class CommentBodyForm(forms.Form):
    """A reply, or the new text of an edited comment."""

    body = forms.CharField(
        max_length=10_000, error_messages=COMMENT_ERRORS, widget=forms.Textarea
    )
