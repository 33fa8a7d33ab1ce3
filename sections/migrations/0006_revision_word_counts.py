"""Count the words each existing revision added and removed (new ones count on save).

The counting is revisions.word_changes, copied: a migration must not change when the
app's code does.
"""

import difflib

from django.db import migrations


def count_words(apps, schema_editor):
    Revision = apps.get_model("sections", "Revision")
    previous_body: dict[int, str] = {}
    changed = []
    revisions = Revision.objects.only("id", "section_id", "body").order_by(
        "section_id", "created_at", "id"
    )
    for revision in revisions.iterator():
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
        previous_body = {revision.section_id: revision.body}  # only the current section
        if len(changed) == 500:
            Revision.objects.bulk_update(changed, ["words_added", "words_removed"])
            changed = []
    Revision.objects.bulk_update(changed, ["words_added", "words_removed"])


class Migration(migrations.Migration):
    dependencies = [("sections", "0005_triage")]

    operations = [migrations.RunPython(count_words, migrations.RunPython.noop)]
