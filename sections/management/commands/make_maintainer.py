from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sections import members, permissions
from sections.models import Manuscript, Role


class Command(BaseCommand):
    help = (
        "Make the user with this email a maintainer: of one manuscript with "
        "--manuscript, else of every manuscript, with access to the admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--manuscript", metavar="SLUG")

    def handle(
        self, *args: object, email: str, manuscript: str | None, **options: object
    ) -> None:
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user has the email {email}; they sign up first.")
        if manuscript is None:
            permissions.make_maintainer(user)
            self.stdout.write(f"{email} is a maintainer of every manuscript.")
            return
        manuscript_ = Manuscript.objects.filter(slug=manuscript).first()
        if manuscript_ is None:
            raise CommandError(f"No manuscript has the slug {manuscript}.")
        members.grant(manuscript_, user=user, role=Role.MAINTAINER, by=None)
        self.stdout.write(f"{email} is a maintainer of {manuscript_.title}.")
