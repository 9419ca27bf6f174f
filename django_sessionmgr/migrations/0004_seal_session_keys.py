"""Room for sealed session keys, and sealing of the keys already stored.

Under the ``cache`` and ``file`` engines our table is the only copy of a key
outside the store, so existing keys are sealed (see ``keys.py``). Rows of
``db`` and ``cached_db`` keep theirs: Django's session table holds them anyway.
"""

import base64
import os
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.db import migrations, models
from django.utils.crypto import salted_hmac

BATCH_SIZE = 2000
# The sealed form as this migration wrote it (format 1), frozen here rather
# than imported from the package, whose code may move on: AES-GCM under a key
# derived from SECRET_KEY, a random nonce, urlsafe base64, behind "$1$".
SEALED_PREFIX = "$1$"


def needs_sealing() -> bool:
    return not issubclass(import_module(settings.SESSION_ENGINE).SessionStore, DBStore)


def seal(session_key: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = salted_hmac("django_sessionmgr.keys", "", algorithm="sha256").digest()
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, session_key.encode(), None)
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def seal_existing_keys(apps, schema_editor):
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
