"""Small factory functions for test data."""

from __future__ import annotations

import struct
import zlib

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.urls import reverse
from django.utils.text import slugify

from sections import contributors
from sections.models import Manuscript, Membership, Role, Section

PASSWORD = "correct-horse-battery-staple"

# The people a test made with make_user and the role each has in every manuscript
# of the test, made before them or after (tests/conftest.py grants it to new ones).
# So the cast keeps the meaning it had when anyone signed in could edit: a test
# that needs an outsider says role=None.
CAST: dict[int, Role] = {}


def make_user(
    email: str, *, role: Role | None = Role.AUTHOR, **fields: object
) -> AbstractBaseUser:
    """A user with a verified email and a contributor record; a member of every
    manuscript in the test with `role` (None: of none)."""
    user = get_user_model().objects.create_user(
        username=email.split("@")[0], email=email, password=PASSWORD, **fields
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    contributors.for_user(user)
    if role is not None:
        CAST[user.pk] = role
        for manuscript in Manuscript.objects.all():
            grant_cast(manuscript, users={user.pk: role})
    return user


def grant_cast(manuscript: Manuscript, *, users: dict[int, Role] | None = None) -> None:
    """Give the cast (or `users`) their roles in the manuscript. Test set-up, as
    creating rows directly is: no activity is recorded."""
    for user_pk, role in (CAST if users is None else users).items():
        Membership.objects.update_or_create(
            manuscript=manuscript, user_id=user_pk, defaults={"role": role}
        )


def make_manuscript(title: str = "A review", **fields: object) -> Manuscript:
    return Manuscript.objects.create(title=title, slug=slugify(title), **fields)


def make_section(
    manuscript: Manuscript, title: str = "Intro", **fields: object
) -> Section:
    position = fields.pop("position", manuscript.sections.count() + 1)
    slug = fields.pop("slug", slugify(title))
    return Section.objects.create(
        manuscript=manuscript, title=title, slug=slug, position=position, **fields
    )


def png(width: int = 2, height: int = 2) -> bytes:
    """A valid PNG of one colour (red), width by height pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + b"\xff\0\0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def preview_url(manuscript: Manuscript | None = None) -> str:
    """The public preview's address of `manuscript`, or of the site's first (the one
    /preview/ served alone before each manuscript had its own)."""
    manuscript = manuscript or Manuscript.objects.site_first()
    return reverse("sections:preview", args=[manuscript.slug])
