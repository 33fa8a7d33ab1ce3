"""Activity entries of published versions link /v/<name>/, which now redirects to the
site's first manuscript's version: each entry gets its own manuscript's address,
/v/<manuscript>/<name>/, so a second manuscript's feed links its own versions."""

import re

from django.db import migrations

OLD = re.compile(r"^/v/(?P<name>[^/]+)/$")
NEW = re.compile(r"^/v/[^/]+/(?P<name>[^/]+)/$")


def name_the_manuscript(apps, schema_editor):
    Activity = apps.get_model("sections", "Activity")
    entries = Activity.objects.filter(url__startswith="/v/").select_related(
        "manuscript"
    )
    for entry in entries.iterator():
        if match := OLD.match(entry.url):
            entry.url = f"/v/{entry.manuscript.slug}/{match['name']}/"
            entry.save(update_fields=["url"])


def drop_the_manuscript(apps, schema_editor):
    Activity = apps.get_model("sections", "Activity")
    for entry in Activity.objects.filter(url__startswith="/v/").iterator():
        if match := NEW.match(entry.url):
            entry.url = f"/v/{match['name']}/"
            entry.save(update_fields=["url"])


class Migration(migrations.Migration):
    dependencies = [
        ("sections", "0024_sections_remember_their_unsynced_save"),
    ]

    operations = [migrations.RunPython(name_the_manuscript, drop_the_manuscript)]
