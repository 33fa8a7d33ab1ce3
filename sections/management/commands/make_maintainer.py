from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sections import permissions


class Command(BaseCommand):
    help = "Make the user with this email a maintainer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: object, email: str, **options: object) -> None:
        user = get_user_model().objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user has the email {email}; they sign up first.")
        permissions.make_maintainer(user)
        self.stdout.write(f"{email} is a maintainer.")
