"""Roles become per manuscript: keep everyone who worked before working.

Before, anyone signed in could edit every manuscript and members of the Maintainers
group moderated them all. So every active user becomes an author of every existing
manuscript, and the group's members (and superusers) its maintainers. Users who sign
up later get nothing (sections.members).
"""

from django.conf import settings
from django.db import migrations

MAINTAINERS_GROUP = "Maintainers"


def grant_site_roles(apps, schema_editor):
    Manuscript = apps.get_model("sections", "Manuscript")
    Membership = apps.get_model("sections", "Membership")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    users = list(User.objects.filter(is_active=True).values_list("pk", "is_superuser"))
    maintainers = set(
        User.objects.filter(groups__name=MAINTAINERS_GROUP).values_list("pk", flat=True)
    )
    rows = [
        Membership(
            manuscript_id=manuscript_pk,
            user_id=user_pk,
            role="maintainer" if is_superuser or user_pk in maintainers else "author",
        )
        for manuscript_pk in Manuscript.objects.values_list("pk", flat=True)
        for user_pk, is_superuser in users
    ]
    Membership.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


def remove_memberships(apps, schema_editor):
    # Back to site-wide roles, where memberships meant nothing.
    apps.get_model("sections", "Membership").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sections", "0026_manuscript_members"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(grant_site_roles, remove_memberships)]
