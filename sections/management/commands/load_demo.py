"""`make run`'s setup: import the seed manuscript once and ensure a demo maintainer."""

from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.urls import reverse

from sections import contributors, importing, permissions
from sections.exceptions import ImportRejected

SEED = Path(__file__).resolve().parents[2] / "seed" / "deep-review-draft-2017.txt"
DEMO_EMAIL = "maintainer@example.org"
DEMO_PASSWORD = "review-demo-2017"


class Command(BaseCommand):
    help = "Import the seed manuscript (once) and create the demo maintainer (once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--seed",
            type=Path,
            default=SEED,
        )

    def handle(self, *args: object, seed: Path, **options: object) -> None:
        if settings.DEBUG is False:
            raise CommandError(
                "The demo account is for development only (DEBUG is off)."
            )
        try:
            report = importing.import_path(seed, format="text")
        except ImportRejected as error:
            raise CommandError(f"Seed not imported: {error}") from error
        for line in report.lines():
            self.stdout.write(line)
        with transaction.atomic():
            user, created = get_user_model().objects.get_or_create(
                username="maintainer",
                defaults={
                    "email": DEMO_EMAIL,
                    "first_name": "Demo",
                    "last_name": "Maintainer",
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
                EmailAddress.objects.create(
                    user=user, email=DEMO_EMAIL, verified=True, primary=True
                )
            permissions.make_maintainer(user)
            contributors.for_user(user)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo maintainer: {DEMO_EMAIL} / {DEMO_PASSWORD}  "
                f"(sign in at {settings.SITE_URL}/accounts/login/)"
            )
        )
        preview = reverse("sections:preview", args=[report.manuscript.slug])
        self.stdout.write(f"Public preview: {settings.SITE_URL}{preview}")
