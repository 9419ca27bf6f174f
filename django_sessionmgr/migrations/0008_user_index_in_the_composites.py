# The user's own index goes: every per-user index (0007) starts with the user,
# so it served no query they do not, and each login's INSERT and each revoke's
# UPDATE paid for its upkeep. MySQL and MariaDB keep the index their foreign
# key constraint needs; the composites satisfy it.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("django_sessionmgr", "0007_user_first_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="usersession",
            name="user",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="user_sessions",
                to=settings.AUTH_USER_MODEL,
                verbose_name="user",
            ),
        ),
    ]
