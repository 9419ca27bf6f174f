"""Room for sealed session keys, and sealing of the keys already stored.

Under the ``cache`` and ``file`` engines our table is the only copy of a key
outside the store, so existing keys are sealed (see ``keys.py``). Rows of
``db`` and ``cached_db`` keep theirs: Django's session table holds them anyway.
"""

from django.db import migrations, models

BATCH_SIZE = 2000


def seal_existing_keys(apps, schema_editor):
    from django_sessionmgr.keys import SEALED_PREFIX, needs_sealing, seal

    if not needs_sealing():
        return
    UserSession = apps.get_model("django_sessionmgr", "UserSession")
    rows = (
        UserSession.objects.using(schema_editor.connection.alias)
        .exclude(session_key="")
        .exclude(session_key__startswith=SEALED_PREFIX)
    )
    while batch := list(rows.only("pk", "session_key")[:BATCH_SIZE]):
        for row in batch:
            row.session_key = seal(row.session_key)
        UserSession.objects.using(schema_editor.connection.alias).bulk_update(
            batch, ["session_key"]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("django_sessionmgr", "0003_staff_list_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="usersession",
            name="session_key",
            field=models.CharField(blank=True, default="", editable=False, max_length=128),
        ),
        migrations.RunPython(seal_existing_keys, migrations.RunPython.noop, elidable=True),
    ]
