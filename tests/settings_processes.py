"""Settings for the processes a test starts (a killed revoke, gunicorn workers).

``tests.settings``, with what the test chose read from the environment:

- ``DATABASE_URL``: a database both the test and its processes reach (a
  SQLite file or PostgreSQL; never SQLite in memory);
- ``SESSIONMGR_TEST_ENGINE``: a stock engine by short name (default ``db``);
- ``SESSIONMGR_TEST_CACHE_URL``: the default cache on this Redis (else local
  memory), through ``SESSIONMGR_TEST_CACHE_BACKEND`` (default Django's
  ``RedisCache``), its keys under ``SESSIONMGR_TEST_CACHE_PREFIX``;
- ``SESSION_FILE_PATH`` for the file engine;
- ``SESSIONMGR_TEST_ACTIVITY_INTERVAL``: ``ACTIVITY_UPDATE_INTERVAL`` (default 60).
"""

import os

from tests.settings import *  # noqa: F403

ROOT_URLCONF = "tests.urls_processes"
SESSION_ENGINE = (
    f"django.contrib.sessions.backends.{os.environ.get('SESSIONMGR_TEST_ENGINE', 'db')}"
)
SESSION_FILE_PATH = os.environ.get("SESSION_FILE_PATH") or None
if cache_url := os.environ.get("SESSIONMGR_TEST_CACHE_URL"):
    CACHES = {
        "default": {
            "BACKEND": os.environ.get(
                "SESSIONMGR_TEST_CACHE_BACKEND", "django.core.cache.backends.redis.RedisCache"
            ),
            "LOCATION": cache_url,
            "KEY_PREFIX": os.environ.get("SESSIONMGR_TEST_CACHE_PREFIX", ""),
        }
    }
SESSIONMGR = {
    "ACTIVITY_UPDATE_INTERVAL": int(os.environ.get("SESSIONMGR_TEST_ACTIVITY_INTERVAL", "60"))
}
