"""Stored full-text vectors with GIN indexes, on PostgreSQL only.

Each searchable table gets a `search_vector` column that PostgreSQL computes on
every write (GENERATED ... STORED), so no code path (save, bulk update, import) can
leave it stale, and search reads it through an index instead of parsing every text
per query. The models do not declare the column: the embedded SQLite default has
no full-text vectors and searches by words (see sections/search.py).

The expressions must match what sections/search.py expects: config "english",
`<` spaced out (PostgreSQL's parser skips what looks like markup), section titles
weighted A over bodies B, a reference's document made of its key, the title and
the authors' family names of the record that counts (manual, fetched, provisional;
an empty record counts as none, as Reference.csl does).
"""

from django.db import migrations


def _text(column):
    return f"to_tsvector('english'::regconfig, replace(coalesce({column}, ''), '<', ' '))"


RECORD = (
    "coalesce(nullif(csl_manual, '{}'::jsonb), nullif(csl_fetched, '{}'::jsonb), "
    "nullif(csl_provisional, '{}'::jsonb))"
)
VECTORS = {
    "sections_section": (
        f"setweight({_text('title')}, 'A') || setweight({_text('body')}, 'B')"
    ),
    "sections_comment": _text("body"),
    "sections_todoitem": _text("text"),
    # `silent` true: a malformed record must never make the row unwritable.
    "sections_reference": _text(
        f"key || ' ' || coalesce({RECORD} ->> 'title', '') || ' ' || "
        f"coalesce(jsonb_path_query_array({RECORD}, '$.author[*].family', "
        "'{}'::jsonb, true)::text, '')"
    ),
}


def add_vectors(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, expression in VECTORS.items():
        schema_editor.execute(
            f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS ({expression}) STORED"
        )
        schema_editor.execute(
            f"CREATE INDEX {table}_search_vector ON {table} USING gin (search_vector)"
        )


def drop_vectors(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in VECTORS:
        schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN search_vector")


class Migration(migrations.Migration):

    dependencies = [
        ("sections", "0008_releases_and_authors"),
    ]

    operations = [
        migrations.RunPython(add_vectors, drop_vectors, elidable=False),
    ]
