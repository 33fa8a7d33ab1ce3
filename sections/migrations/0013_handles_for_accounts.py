from django.db import migrations
from django.utils.text import slugify


def give_accounts_handles(apps, schema_editor):
    """People who signed up before sign-up asked for a handle have none, so no
    mention reached them: each gets one made from their name, as
    sections.contributors.handle_from_name makes it, numbered when taken."""
    Contributor = apps.get_model("sections", "Contributor")
    taken = {
        handle.lower()
        for handle in Contributor.objects.exclude(handle="").values_list(
            "handle", flat=True
        )
    }
    people = Contributor.objects.filter(user__isnull=False, handle="").order_by("pk")
    for person in people:
        base = slugify(person.display_name)[:30].strip("-_") or "contributor"
        handle, n = base, 2
        while handle.lower() in taken:
            handle, n = f"{base}{n}", n + 1
        taken.add(handle.lower())
        person.handle = handle
        person.save(update_fields=["handle"])


class Migration(migrations.Migration):
    dependencies = [
        ("sections", "0012_feed_key"),
    ]

    operations = [
        migrations.RunPython(give_accounts_handles, migrations.RunPython.noop),
    ]
