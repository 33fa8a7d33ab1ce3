import math
import os
import time
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
        parser.add_argument(
            "--max-wait",
            type=float,
            default=300,
            metavar="SECONDS",
            help=(
                "Wait out outages' backoff (429 Retry-After, 503) and try again, for "
                "at most this many seconds in all (default 300; 0 does not wait)."
            ),
        )

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
        owner = f"command:{os.getpid()}"
        give_up_at = time.monotonic() + options["max_wait"]
        with tqdm(total=len(waiting), unit="ref", file=self.stderr) as bar:
            again = references.fetch_all(waiting, owner=owner, progress=bar.update)
            # Outages are waited out here, as a worker's countdown would, for as long
            # as --max-wait allows; what is left waits for the next run.
            retries = [(time.monotonic() + delay, batch) for delay, batch in again]
            while retries:
                due_at = min(at for at, _ in retries)
                if due_at > give_up_at:
                    break
                count = sum(len(batch) for _, batch in retries)
                while (left := due_at - time.monotonic()) > 0:
                    bar.set_postfix_str(f"{count} waiting {math.ceil(left)} s to retry")
                    time.sleep(min(left, 1))
                bar.set_postfix_str("")
                due = [batch for at, batch in retries if at <= due_at]
                retries = [(at, batch) for at, batch in retries if at > due_at]
                for batch in due:
                    again = references.fetch_all(
                        batch, owner=owner, progress=bar.update
                    )
                    retries += [(time.monotonic() + d, b) for d, b in again]
        self._report([r.pk for r in waiting])

    def _report(self, pks: list[int]) -> None:
        done = Reference.objects.filter(pk__in=pks)
        states = Counter(done.values_list("state", flat=True))
        self.stdout.write(
            f"Resolved {states[Reference.State.RESOLVED]}, "
            f"failed {states[Reference.State.FAILED]}, "
            f"still waiting {states[Reference.State.PENDING]} (an outage that outlasted "
            "--max-wait: run again later)."
        )
        reasons = Counter(
            done.filter(state=Reference.State.FAILED).values_list("error", flat=True)
        )
        for reason, count in reasons.most_common(10):
            self.stdout.write(f"  {count} × {reason}")
