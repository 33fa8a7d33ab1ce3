import os
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from sections import references
from sections.models import Reference


class Command(BaseCommand):
    help = (
        "Fetch metadata for every reference waiting for it, in this process, with a "
        "progress bar; --retry-failed tries the failed ones again too."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--retry-failed",
            action="store_true",
            help="Also fetch references that failed (a 404, an outage).",
        )
        parser.add_argument("--manuscript", help="Only this manuscript (its slug).")

    def handle(self, *args: object, **options: object) -> None:
        chosen = Reference.objects.all()
        if options["manuscript"]:
            chosen = chosen.filter(manuscript__slug=options["manuscript"])
            if not chosen.exists():
                raise CommandError(f"No references in “{options['manuscript']}”.")
        if options["retry_failed"]:
            references.reopen_failed(list(chosen.failed().fetchable()))
        waiting = list(chosen.waiting())
        if not waiting:
            self.stdout.write("No reference is waiting for metadata.")
            return
        with tqdm(total=len(waiting), unit="ref", file=self.stderr) as bar:
            references.fetch_all(
                waiting, owner=f"command:{os.getpid()}", progress=bar.update
            )
        self._report([r.pk for r in waiting])

    def _report(self, pks: list[int]) -> None:
        done = Reference.objects.filter(pk__in=pks)
        states = Counter(done.values_list("state", flat=True))
        self.stdout.write(
            f"Resolved {states[Reference.State.RESOLVED]}, "
            f"failed {states[Reference.State.FAILED]}, "
            f"still waiting {states[Reference.State.PENDING]} (an outage: run again later)."
        )
        reasons = Counter(
            done.filter(state=Reference.State.FAILED).values_list("error", flat=True)
        )
        for reason, count in reasons.most_common(10):
            self.stdout.write(f"  {count} × {reason}")
