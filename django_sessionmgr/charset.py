"""Text a table can hold: on MySQL's ``utf8mb3``, a four-byte character (an
emoji in a user agent) fails the whole statement, and a login whose row
cannot be inserted could never be revoked."""

from __future__ import annotations

import re
from functools import lru_cache

from django.db import connections

#: Characters beyond the Basic Multilingual Plane: four bytes in UTF-8.
_BEYOND_BMP = re.compile("[\U00010000-\U0010ffff]")


@lru_cache(maxsize=8)
def _holds_only_bmp(alias: str, table: str) -> bool:
    """Whether the table's text columns are MySQL's ``utf8mb3`` (``utf8`` before
    MySQL 8 and MariaDB 10.6). Asked once per database, table and process, and
    only for text that is not ASCII."""
    connection = connections[alias]
    if connection.vendor != "mysql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_NAME = %s AND CHARACTER_SET_NAME IN ('utf8', 'utf8mb3') LIMIT 1",
            [table],
        )
        return cursor.fetchone() is not None


def fit_text(text: str, alias: str, table: str) -> str:
    """``text`` as ``table`` in database ``alias`` can hold it: on ``utf8mb3``,
    four-byte characters become U+FFFD."""
    if text.isascii() or not _holds_only_bmp(alias, table):
        return text
    return _BEYOND_BMP.sub("\ufffd", text)
