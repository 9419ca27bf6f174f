"""Django's ``RedisCache`` on a busy Redis: each call waits 0 to 10 ms first.

The test's stand-in for a loaded server or a network blip
(tests/servers/test_slow_cache.py): a write that left a request before a revoke may
reach Redis after it. What runs on it, the app, is not changed.
"""

from __future__ import annotations

import random
import time
from typing import Any

from django.core.cache.backends.redis import RedisCache

MAX_DELAY = 0.010


def _wait() -> None:
    time.sleep(random.uniform(0, MAX_DELAY))


class SlowRedisCache(RedisCache):
    def get(self, *args: Any, **kwargs: Any) -> Any:
        _wait()
        return super().get(*args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        _wait()
        return super().get_many(*args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> None:
        _wait()
        super().set(*args, **kwargs)

    def add(self, *args: Any, **kwargs: Any) -> bool:
        _wait()
        return super().add(*args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> list[Any]:
        _wait()
        return super().set_many(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> bool:
        _wait()
        return super().delete(*args, **kwargs)

    def delete_many(self, *args: Any, **kwargs: Any) -> None:
        _wait()
        super().delete_many(*args, **kwargs)
