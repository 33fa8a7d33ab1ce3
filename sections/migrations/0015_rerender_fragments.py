"""Stored fragments from before segments are dropped: they hold no segments, and
assembly renders any section without a fragment again (a cache, not content)."""

from django.db import migrations


def drop_fragments(apps, schema_editor):
    apps.get_model("sections", "SectionRender").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sections", "0014_fragment_segments"),
    ]

    operations = [
        migrations.RunPython(drop_fragments, migrations.RunPython.noop),
    ]
