# MariaDB has no conditional indexes: the partial index from 0001 became a
# plain one there anyway, with models.W037 on every check and migrate. A plain
# index everywhere keeps the check clean on SQLite, PostgreSQL and MariaDB.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("django_sessionmgr", "0004_seal_session_keys"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="usersession", name="sessionmgr_revoke_batch"),
        migrations.AddIndex(
            model_name="usersession",
            index=models.Index(fields=["revoke_batch"], name="sessionmgr_revoke_batch"),
        ),
    ]
