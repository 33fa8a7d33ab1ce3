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
from sections.models import Manuscript, Section

PASSWORD = "correct-horse-battery-staple"


def make_user(email: str, **fields: object) -> AbstractBaseUser:
    user = get_user_model().objects.create_user(
        username=email.split("@")[0], email=email, password=PASSWORD, **fields
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    contributors.for_user(user)
    return user


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
