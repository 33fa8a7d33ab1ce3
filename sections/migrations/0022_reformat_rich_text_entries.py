from django.db import migrations
from django.db.models import Q


def format_again(apps, schema_editor):
    # Entries formatted before CSL's rich text (<i>, <b>, <sup>, <sub>) was shown as
    # such hold it escaped: dropped, they are formatted again by the next assembly
    # (after any change, or `manage.py render_manuscripts`).
    escaped = Q()
    for tag in ["i", "b", "sup", "sub"]:
        escaped |= Q(html__contains=f"&lt;{tag}&gt;")
    apps.get_model("sections", "FormattedEntry").objects.filter(escaped).delete()
    apps.get_model("sections", "ManuscriptRender").objects.update(input_hash="")


class Migration(migrations.Migration):
    dependencies = [
        ("sections", "0021_assembled_section_fragment_hash"),
    ]

    operations = [migrations.RunPython(format_again, migrations.RunPython.noop)]
