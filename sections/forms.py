from django import forms
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest

from sections import authors, contributors, manuscripts
from sections.models import (
    Activity,
    Contributor,
    Manuscript,
    ProposalReview,
    Role,
    Section,
    TodoItem,
)
from sections.selectors import TodoFilters


class ClaimForm(forms.Form):
    note = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. drafting this week"}),
    )
    # Not in the past: claims.claim enforces that rule, the form only the shape.
    target_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
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

    def __init__(self, *args, heading_optional: bool = False, **kwargs):
        # Text before a Manubot file's first heading has none, and may keep it so.
        super().__init__(*args, **kwargs)
        self.fields["title"].required = not heading_optional

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
    # Required: without it a save cannot merge, only overwrite what it never showed.
    base = forms.IntegerField(
        min_value=0,
        widget=forms.HiddenInput,
        error_messages={
            "required": (
                "Nothing was saved: this form did not say which version of the "
                "section it was edited from, so saving it could overwrite changes "
                "made meanwhile. Your text is below; open the editor again, bring "
                "your text into it, and save from there."
            ),
        },
    )


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


class ActivityFilterForm(forms.Form):
    """The activity feed's filter: one kind of event, or every kind."""

    kind = forms.ChoiceField(
        choices=[("", "Everything"), *Activity.Kind.choices], required=False
    )


# Triage board

AGES = [("", "Any age"), ("7", "Older than 7 days"), ("30", "Older than 30 days")]
AGES += [("90", "Older than 90 days")]
SORTS = [
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("priority", "Highest priority first"),
    ("section", "In section order"),
]
PRIORITIES = [(str(value), label) for value, label in TodoItem.Priority.choices]


def _people(contributors: list[Contributor]) -> list[tuple[str, str]]:
    return [(str(c.pk), c.display_name) for c in contributors]


class TodoFilterForm(forms.Form):
    """The board's filters (a GET form); an invalid value falls back to its default."""

    status = forms.ChoiceField(
        choices=[*TodoItem.Status.choices, ("all", "Any status")], required=False
    )
    section = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    assignee = forms.ChoiceField(required=False)
    kind = forms.ChoiceField(
        choices=[("", "Any kind"), *TodoItem.Kind.choices], required=False
    )
    priority = forms.TypedChoiceField(
        choices=[("", "Any priority"), *PRIORITIES],
        coerce=int,
        required=False,
        empty_value=None,
    )
    age = forms.TypedChoiceField(
        choices=AGES, coerce=int, required=False, empty_value=None
    )
    sort = forms.ChoiceField(choices=SORTS, required=False)

    def __init__(
        self,
        data: object = None,
        *,
        sections: list[Section],
        contributors: list[Contributor],
    ) -> None:
        super().__init__(data)
        # Choices from lists the page reads anyway, so validating costs no query.
        self.fields["section"].choices = [("", "Any section")] + [
            (str(s.pk), s.title) for s in sections
        ]
        self.fields["assignee"].choices = [
            ("", "Anyone or nobody"),
            ("unassigned", "Nobody (unassigned)"),
            ("me", "Me"),
            *_people(contributors),
        ]

    def filters(self) -> TodoFilters:
        """The valid filters asked for; defaults for the rest."""
        self.is_valid()
        data = self.cleaned_data
        return TodoFilters(
            status=data.get("status") or TodoItem.Status.OPEN,
            section=data.get("section"),
            assignee=data.get("assignee") or "",
            kind=data.get("kind") or "",
            priority=data.get("priority"),
            older_than_days=data.get("age"),
            sort=data.get("sort") or "newest",
        )


class TodoIdsField(forms.Field):
    """The ticked items: any number of checkboxes named alike, as pks."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Tick at least one item.",
        "invalid": "Those items are not on this board.",
    }

    def to_python(self, value: object) -> list[int]:
        if not value:
            return []
        try:
            return sorted({int(pk) for pk in value})
        except (TypeError, ValueError) as error:
            raise forms.ValidationError(
                self.error_messages["invalid"], code="invalid"
            ) from error

    def validate(self, value: list[int]) -> None:
        super().validate(value)
        if len(value) > 1000:
            raise forms.ValidationError("Change at most 1,000 items at once.")


class TodoBulkForm(forms.Form):
    """A maintainer's change to the ticked items of the board."""

    ACTIONS = [
        ("assign", "Assign to"),
        ("prioritise", "Set priority to"),
        ("done", "Close as done"),
        ("wont_do", "Close as won't do"),
        ("reopen", "Reopen"),
    ]

    items = TodoIdsField()
    action = forms.ChoiceField(choices=ACTIONS)
    # Assigning to nobody unassigns.
    assignee = forms.ModelChoiceField(
        queryset=Contributor.objects.all(), required=False, empty_label="Nobody"
    )
    priority = forms.TypedChoiceField(
        choices=[("", "—"), *PRIORITIES], coerce=int, required=False, empty_value=None
    )

    def __init__(self, data: object = None, *, contributors: list[Contributor]) -> None:
        # Its own ids: the filters above it on the page have fields of the same names.
        super().__init__(data, auto_id="bulk_%s")
        self.fields["assignee"].choices = [("", "Nobody"), *_people(contributors)]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("action") == "prioritise" and not data.get("priority"):
            self.add_error("priority", "Choose the priority to set.")
        return data


class ManualTodoForm(forms.Form):
    """A TODO item a maintainer writes by hand on a section."""

    section = forms.ModelChoiceField(queryset=Section.objects.none())
    text = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    assignee = forms.ModelChoiceField(
        queryset=Contributor.objects.all(), required=False, empty_label="Nobody"
    )
    priority = forms.TypedChoiceField(
        choices=PRIORITIES, coerce=int, initial=TodoItem.Priority.NORMAL
    )

    def __init__(
        self,
        data: object = None,
        *,
        manuscript_id: int,
        sections: list[Section],
        contributors: list[Contributor],
    ) -> None:
        super().__init__(data, auto_id="new_%s")
        # Validation looks the pick up in this manuscript; the shown choices come
        # from the lists the page has read already.
        self.fields["section"].queryset = Section.objects.present().filter(
            manuscript_id=manuscript_id
        )
        self.fields["section"].choices = [("", "Choose a section")] + [
            (str(s.pk), s.title) for s in sections
        ]
        self.fields["assignee"].choices = [("", "Nobody"), *_people(contributors)]


# Claims and my work


class LinkDecisionForm(forms.Form):
    """A maintainer approves or declines one link request."""

    link_request = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("decline", "Decline")]
    )


# Releases


class ReleaseForm(forms.Form):
    """A maintainer publishes the public preview as a version; releases.publish
    decides whether the name may be used."""

    name = forms.CharField(max_length=50, help_text="Such as v1.0.")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ReleaseCompareForm(forms.Form):
    """`?with=` names the other version: a release's name, or "draft"."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # "with" is a Python keyword, so it can't be declared as a class attribute.
        self.fields["with"] = forms.CharField(max_length=50)


# Authors


class AuthorDetailsForm(forms.Form):
    """A person's ORCID iD and affiliations, as author lists print them."""

    orcid = forms.CharField(
        label="ORCID iD",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "e.g. 0000-0002-1825-0097"}),
    )
    affiliations = forms.CharField(
        required=False,
        max_length=authors.MAX_AFFILIATIONS * (authors.MAX_AFFILIATION_LENGTH + 1),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line.",
    )

    def clean_orcid(self) -> str:
        try:
            return authors.normalize_orcid(self.cleaned_data["orcid"])
        except authors.InvalidOrcid as error:
            raise forms.ValidationError(str(error)) from error

    def clean_affiliations(self) -> list[str]:
        lines = [
            line.strip() for line in self.cleaned_data["affiliations"].splitlines()
        ]
        lines = [line for line in lines if line]
        if len(lines) > authors.MAX_AFFILIATIONS:
            raise forms.ValidationError(
                f"At most {authors.MAX_AFFILIATIONS} affiliations per person."
            )
        if any(len(line) > authors.MAX_AFFILIATION_LENGTH for line in lines):
            raise forms.ValidationError(
                f"An affiliation has at most {authors.MAX_AFFILIATION_LENGTH} "
                "characters."
            )
        return lines


class HandleField(forms.CharField):
    """An @handle, in the shape comments and notes recognise (without the @)."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            label="Handle",
            max_length=contributors.MAX_HANDLE_LENGTH,
            help_text="Others mention you as @handle: letters, digits, _ and -",
            widget=forms.TextInput(
                attrs={
                    "placeholder": "e.g. casey-greene",
                    "autocapitalize": "none",
                    "autocomplete": "username",
                    "spellcheck": "false",
                }
            ),
            **kwargs,
        )

    def clean(self, value: str) -> str:
        handle = super().clean(value).strip().removeprefix("@")
        if not contributors.HANDLE_SHAPE.match(handle):
            raise forms.ValidationError(
                "A handle is letters, digits, _ and -, starting with a letter or "
                "digit, such as casey-greene."
            )
        return handle


class SignupForm(forms.Form):
    """What sign-up asks besides email and password (ACCOUNT_SIGNUP_FORM_CLASS):
    the name bylines print and the @handle mentions reach."""

    display_name = forms.CharField(
        label="Your name, as bylines print it",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    handle = HandleField()

    # allauth puts its own fields (email, passwords) in this order too.
    field_order = ["display_name", "handle", "email", "password1", "password2"]

    def clean_handle(self) -> str:
        handle = self.cleaned_data["handle"]
        try:
            contributors.check_handle_free(handle)
        except contributors.HandleTaken as error:
            raise forms.ValidationError(str(error)) from error
        return handle

    def signup(self, request: HttpRequest, user: AbstractBaseUser) -> None:
        contributors.sign_up(
            user,
            display_name=self.cleaned_data["display_name"],
            handle=self.cleaned_data["handle"],
        )


class MyDetailsForm(AuthorDetailsForm):
    """What a contributor says of themselves: the name bylines print, the @handle
    mentions reach, and the rest."""

    display_name = forms.CharField(label="Name, as bylines print it", max_length=200)
    handle = HandleField()

    field_order = ["display_name", "handle", "orcid", "affiliations"]


class AuthorRowForm(AuthorDetailsForm):
    """One person's row on the author list: a place in the byline (blank: not an
    author), their ORCID iD and affiliations."""

    contributor = forms.IntegerField(widget=forms.HiddenInput)
    position = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=999,
        widget=forms.NumberInput(attrs={"class": "narrow"}),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # The page posts what it showed too, so saving writes only what this
        # maintainer changed, never back over someone else's change since.
        for name in ["orcid", "affiliations"]:
            self.fields[name].show_hidden_initial = True


class BaseAuthorListFormSet(forms.BaseFormSet):
    """Every contributor's row; `people` are the contributors the rows may name."""

    def __init__(self, *args: object, people: dict[int, Contributor], **kwargs):
        super().__init__(*args, **kwargs)
        self.people = people

    def rows(self) -> list[forms.Form]:
        """The forms that hold a row: a post may add blank forms to the count."""
        return [form for form in self.forms if form.cleaned_data]

    def clean(self) -> None:
        if any(self.errors):
            return
        ids = [form.cleaned_data["contributor"] for form in self.rows()]
        if len(set(ids)) != len(ids) or not set(ids) <= self.people.keys():
            raise forms.ValidationError(
                "The list changed since this page was loaded: reload it and try again."
            )
        # Without what the page showed, every value would count as changed and
        # overwrite whatever someone saved since: the page always sends it.
        if any(
            form[name].html_initial_name not in form.data
            for form in self.rows()
            for name, field in form.fields.items()
            if field.show_hidden_initial
        ):
            raise forms.ValidationError(
                "This post did not say what the page showed, so it could overwrite "
                "changes made meanwhile: reload the page and try again."
            )

    def entries(self) -> list[authors.AuthorEntry]:
        """The rows as authors.save_author_list takes them; for a person's ORCID iD
        and affiliations, what the page showed unless this maintainer changed it."""
        entries = []
        for form in self.rows():
            data, person = (
                form.cleaned_data,
                self.people[form.cleaned_data["contributor"]],
            )
            changed = form.changed_data
            entries.append(
                authors.AuthorEntry(
                    person,
                    data["position"],
                    data["orcid"] if "orcid" in changed else person.orcid,
                    data["affiliations"]
                    if "affiliations" in changed
                    else list(person.affiliations),
                )
            )
        return entries


AuthorListFormSet = forms.formset_factory(
    AuthorRowForm, formset=BaseAuthorListFormSet, extra=0, max_num=5000
)


# Search


class SearchForm(forms.Form):
    q = forms.CharField(max_length=200, required=False, strip=True)
    kind = forms.ChoiceField(
        choices=[("", "Everything"), ("section", "Sections"), ("comment", "Comments"),
                 ("todo", "TODOs"), ("reference", "References")],
        required=False,
    )  # fmt: skip
    section = forms.SlugField(max_length=120, required=False)


class PublicSearchForm(forms.Form):
    q = forms.CharField(max_length=200, required=False, strip=True)


class FigureUploadForm(forms.Form):
    file = forms.FileField(
        label="Image file (PNG, JPEG, GIF, WebP or SVG)",
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/png,image/jpeg,image/gif,image/webp,image/svg+xml"}
        ),
    )
    # Where to go back to: the editor the form sits in, or the figures page.
    next = forms.CharField(required=False, widget=forms.HiddenInput)


# Members and manuscript settings


class InviteForm(forms.Form):
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.AUTHOR)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class JoinRequestForm(forms.Form):
    message = forms.CharField(
        max_length=500,
        required=False,
        label="A word to the maintainers (optional)",
        widget=forms.TextInput(attrs={"placeholder": "e.g. I work on protein folding"}),
    )


class JoinDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("decline", "Decline")]
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.READER, required=False)


class ManuscriptSettingsForm(forms.Form):
    title = forms.CharField(max_length=500)
    visibility = forms.ChoiceField(
        choices=Manuscript.Visibility.choices,
        widget=forms.RadioSelect,
        help_text="Public: listed, its preview and versions open to everyone. "
        "Unlisted: not listed; its public pages only for whoever has their address. "
        "Private: members only.",
    )
    proposals_from = forms.ChoiceField(
        label="Who may propose changes",
        choices=Manuscript.ProposalsFrom.choices,
        widget=forms.RadioSelect,
    )
    approvals_required = forms.IntegerField(
        label="Approvals a proposal needs",
        min_value=1,
        max_value=manuscripts.MAX_APPROVALS,
    )


# Proposals


class ProposalReviewForm(forms.Form):
    verdict = forms.ChoiceField(
        choices=ProposalReview.Verdict, widget=forms.RadioSelect
    )
    kind = forms.ChoiceField(
        label="What kind of review did you do?",
        choices=ProposalReview.Kind,
        widget=forms.RadioSelect,
    )
    body = forms.CharField(
        label="Your review",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class HunkCommentForm(forms.Form):
    hunk = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
    body = forms.CharField(
        label="Comment on this change",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class AcceptProposalForm(forms.Form):
    # Empty with the "Accept all" button; the chosen hunks' indexes otherwise.
    hunks = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=())
    overrule = forms.BooleanField(required=False)

    def __init__(self, *args: object, hunk_count: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hunks"].choices = [(n, n) for n in range(hunk_count)]


class RejectProposalForm(forms.Form):
    reason = forms.CharField(
        label="Why reject it?",
        max_length=5_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Say why you reject this proposal: its author will read "
            "your reason."
        },
    )


class ResolveProposalForm(EditForm):
    """The conflict page's editor: the decider's reconciled text, from `base`."""

    hunks = forms.TypedMultipleChoiceField(
        coerce=int, choices=(), widget=forms.MultipleHiddenInput
    )
    overrule = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: object, hunk_count: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hunks"].choices = [(n, n) for n in range(hunk_count)]
