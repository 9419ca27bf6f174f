"""Django's ``RedisCache``, counting the calls made on it: how many cache round
trips a request costs (tests/integration/test_jwt.py). What runs on it, the
app, is not changed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.cache.backends.redis import RedisCache

#: Calls by method name, since the last ``calls.clear()``.
calls: Counter[str] = Counter()


class CountingRedisCache(RedisCache):
    def get(self, *args: Any, **kwargs: Any) -> Any:
        calls["get"] += 1
        return super().get(*args, **kwargs)

    def get_many(self, *args: Any, **kwargs: Any) -> Any:
        calls["get_many"] += 1
        return super().get_many(*args, **kwargs)

    def add(self, *args: Any, **kwargs: Any) -> bool:
        calls["add"] += 1
        return super().add(*args, **kwargs)

    def set(self, *args: Any, **kwargs: Any) -> None:
        calls["set"] += 1
        super().set(*args, **kwargs)

    def set_many(self, *args: Any, **kwargs: Any) -> list[Any]:
        calls["set_many"] += 1
        return super().set_many(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> bool:
        calls["delete"] += 1
        return super().delete(*args, **kwargs)
