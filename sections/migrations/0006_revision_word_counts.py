"""Count the words each existing revision added and removed (new ones count on save)."""

import difflib

from django.db import migrations


def count_words(apps, schema_editor):
    Revision = apps.get_model("sections", "Revision")
    previous_body: dict[int, str] = {}
    changed = []
    for revision in Revision.objects.order_by("section_id", "created_at", "id").iterator():
        old = previous_body.get(revision.section_id, "").split()
        new = revision.body.split()
        added = removed = 0
        for op, i1, i2, j1, j2 in difflib.SequenceMatcher(
            None, old, new, autojunk=False
        ).get_opcodes():
            if op != "equal":
                removed += i2 - i1
                added += j2 - j1
        revision.words_added, revision.words_removed = added, removed
        changed.append(revision)
        previous_body[revision.section_id] = revision.body
    Revision.objects.bulk_update(changed, ["words_added", "words_removed"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("sections", "0005_triage")]

    operations = [migrations.RunPython(count_words, migrations.RunPython.noop)]
