from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sections import exporting
from sections.models import Manuscript


class Command(BaseCommand):
    help = (
        "Write a manuscript out: Markdown, a Manubot content/ zip, CSL-JSON, "
        "BibTeX, one standalone HTML file, or a PDF (needs Chromium)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--manuscript", help="The manuscript's slug (default: the only one)."
        )
        parser.add_argument(
            "--format", choices=[*exporting.FORMATS, "pdf"], default="markdown"
        )
        parser.add_argument(
            "--output", "-o", type=Path, help="A file to write (default: stdout)."
        )

    def handle(
        self,
        *args: object,
        manuscript: str | None,
        format: str,
        output: Path | None,
        **options: object,
    ) -> None:
        manuscripts = Manuscript.objects.all()
        if manuscript:
            manuscripts = manuscripts.filter(slug=manuscript)
        if manuscripts.count() != 1:
            slugs = (
                ", ".join(Manuscript.objects.values_list("slug", flat=True)) or "none"
            )
            raise CommandError(
                f"Name one manuscript with --manuscript (there are: {slugs})."
            )
        if format == "pdf":
            if not output:
                raise CommandError("A PDF needs a file: give --output.")
            try:
                data = exporting.pdf(manuscripts.get())
            except exporting.ExportUnavailable as error:
                raise CommandError(str(error)) from error
        else:
            data = exporting.export(manuscripts.get(), format=format)
        if output:
            output.write_bytes(data)
            self.stdout.write(f"Wrote {output}.")
        elif format == "manubot":
            raise CommandError("A Manubot zip needs a file: give --output.")
        else:
            self.stdout.write(data.decode(), ending="")
