from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sections import importing
from sections.exceptions import ImportRejected


class Command(BaseCommand):
    help = (
        "Import a manuscript (plain text, Markdown, or a Manubot content/ folder "
        "or .zip of one), all or nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--format", choices=importing.FORMATS, default=None)

    def handle(
        self, *args: object, path: Path, format: str | None, **options: object
    ) -> None:
        try:
            report = importing.import_path(path, format=format)
        except ImportRejected as error:
            raise CommandError(f"Not imported: {error}") from error
        for line in report.lines():
            self.stdout.write(line)
