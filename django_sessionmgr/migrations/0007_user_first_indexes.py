# Every per-user list must start from the user whatever the planner knows.
# Without statistics (SQLite before ANALYZE), a (status, expires_at) index
# looked cheaper for "status = active AND expires_at > now" than the per-user
# index, so a user's list read every active row in the table; expiry now
# leads that index. The staff API's ?user=&status= list, ordered by creation,
# gets its own per-user index for the same reason. New indexes go in before
# the old one goes, so no query is left without one.

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("django_sessionmgr", "0006_awareness"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="usersession",
            index=models.Index(
                fields=["user", "status", "created_at", "id"],
                name="sessionmgr_user_status_created",
            ),
        ),
        migrations.AddIndex(
            model_name="usersession",
            index=models.Index(fields=["expires_at", "status"], name="sessionmgr_expiry_status"),
        ),
        migrations.RemoveIndex(model_name="usersession", name="sessionmgr_status_expiry"),
    ]
