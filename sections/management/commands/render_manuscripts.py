from django.core.management.base import BaseCommand

from sections import tasks
from sections.models import Manuscript


class Command(BaseCommand):
    help = (
        "Queue a render of every manuscript: sections whose stored fragment is out of "
        "date (after an upgrade that changed rendering) render again, then assemble."
    )

    def handle(self, *args: object, **options: object) -> None:
        for manuscript in Manuscript.objects.all():
            tasks.render_manuscript.delay(manuscript.pk)
            self.stdout.write(f"Queued “{manuscript}”.")
