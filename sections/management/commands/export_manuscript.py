from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from sections import exporting
from sections.models import Manuscript


class Command(BaseCommand):
    help = "Write a manuscript out as Markdown (citations in Manubot form)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--manuscript", help="The manuscript's slug (default: the only one)."
        )
        parser.add_argument("--format", choices=["markdown"], default="markdown")
        parser.add_argument(
            "--output", "-o", type=Path, help="A file to write (default: stdout)."
        )

    def handle(
        self,
        *args: object,
        manuscript: str | None,
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
        text = exporting.to_markdown(manuscripts.get())
        if output:
            output.write_text(text, encoding="utf-8")
            self.stdout.write(f"Wrote {output}.")
        else:
            self.stdout.write(text, ending="")
