"""The types a key of ``SESSIONMGR`` can have.

A type converts the value when it is read, says which values the system
checks accept, and words a bad one: the check's message and hint, and the
line of the settings page's check table (``checks.TYPE_CHECKS`` gives each
type its check id).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from django.utils.module_loading import import_string

T = TypeVar("T")


def is_callable_or_path(value: Any) -> bool:
    """Whether ``value`` is a callable, or the dotted path of one."""
    if callable(value):
        return True
    try:
        return isinstance(value, str) and callable(import_string(value))
    except ImportError:
        return False


def is_whole_number(value: Any, minimum: int) -> bool:
    """An int (not a bool) of ``minimum`` or more."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def is_base_url(value: Any) -> bool:
    """Whether ``value`` is a site's origin: an http(s) URL with a host and no path."""
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.path in ("", "/")
        and not parts.query
        and not parts.fragment
    )


class SettingType(Generic[T]):
    """What values a setting takes. Subclasses fill in the class attributes."""

    #: Ends the check's message: "it must be <must_be>."
    must_be: str
    #: The settings page's check table: "`NAME` <problem>".
    problem: str
    #: The values allowed, for a type that allows only a few.
    choices: tuple[Any, ...] = ()

    def convert(self, value: Any) -> T:
        raise NotImplementedError

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def hint(self, key: str, default: Any) -> str:
        """What the check advises for ``key`` (``SESSIONMGR['NAME']``)."""
        raise NotImplementedError


class WholeNumber(SettingType[int]):
    """A whole number of ``unit``, ``minimum`` or more."""

    def __init__(self, unit: str, minimum: int) -> None:
        self.minimum = minimum
        self.must_be = f"a whole number of {unit}, {minimum} or more"
        self.problem = f"is not a whole number of {minimum} or more"

    def convert(self, value: Any) -> int:
        return int(value)

    def accepts(self, value: Any) -> bool:
        return is_whole_number(value, self.minimum)

    def hint(self, key: str, default: Any) -> str:
        return f"Set {key} to {self.must_be}, or remove it for the default ({default!r})."


class Switch(SettingType[bool]):
    """True or False."""

    must_be = "True or False"
    problem = "is not `True` or `False`"

    def convert(self, value: Any) -> bool:
        return bool(value)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def hint(self, key: str, default: Any) -> str:
        return f"Set {key} to True or False."


class Seconds(SettingType[int | None]):
    """A whole number of seconds, 1 or more, or None for off."""

    must_be = "a whole number of seconds, 1 or more"
    problem = "is not a whole number of seconds, 1 or more"

    def convert(self, value: Any) -> int | None:
        return None if value is None else int(value)

    def accepts(self, value: Any) -> bool:
        return value is None or is_whole_number(value, 1)

    def hint(self, key: str, default: Any) -> str:
        return f"Set {key} to e.g. 1800 (30 minutes), or to None to turn it off."


class Choice(SettingType[str]):
    """One of a few strings; ``options`` maps each to what the hint says it does."""

    def __init__(self, **options: str) -> None:
        self.options = options
        self.choices = tuple(options)
        *first, last = map(repr, options)
        self.must_be = f"{', '.join(first)} or {last}"
        *first, last = (f'`"{option}"`' for option in options)
        self.problem = f"is not {', '.join(first)} or {last}"

    def convert(self, value: Any) -> str:
        return str(value)

    def accepts(self, value: Any) -> bool:
        return value in self.choices  # a tuple: an unhashable value is just not in it

    def hint(self, key: str, default: Any) -> str:
        others = [f"to {o!r} {does}" for o, does in self.options.items() if o != default]
        return f"Set {key} {', '.join(others)}, or remove it for the default ({default!r})."


class SessionLimit(SettingType[Any]):
    """A whole number of sessions, 1 or more, a callable taking the user (or
    its dotted path), or None for no limit; ``policies`` resolves it."""

    must_be = (
        "a whole number of sessions, 1 or more, or a callable (or its dotted path) taking the user"
    )
    problem = "is not a whole number of 1 or more, a callable, or the dotted path of one"

    def convert(self, value: Any) -> Any:
        return value

    def accepts(self, value: Any) -> bool:
        return value is None or is_whole_number(value, 1) or is_callable_or_path(value)

    def hint(self, key: str, default: Any) -> str:
        return (
            f"Set {key} to e.g. 5, to 'myproject.policies.max_sessions', or to None for no limit."
        )


class Origin(SettingType[Any]):
    """A site's origin, such as ``"https://example.com"``, or None."""

    must_be = (
        "the site's origin: an http or https URL with a host and no path, "
        "such as 'https://example.com'"
    )
    problem = (
        "is not an origin: an `http` or `https` URL with a host and no path, query or fragment"
    )

    def convert(self, value: Any) -> Any:
        return value

    def accepts(self, value: Any) -> bool:
        return value is None or is_base_url(value)

    def hint(self, key: str, default: Any) -> str:
        return (
            f"Set {key} to the address users reach the site at, or to None to use the "
            "sites framework."
        )


class ChoiceOrCallable(SettingType[Any]):
    """One of a few strings, or a callable (or its dotted path) that returns one;
    ``options`` maps each string to what the hint says it does."""

    def __init__(self, example: str, **options: str) -> None:
        self.options, self.example = options, example
        self.choices = tuple(options)
        self.must_be = f"{' or '.join(map(repr, options))}, or a callable (or its dotted path)"
        quoted = " or ".join(f'`"{option}"`' for option in options)
        self.problem = f"is not {quoted}, a callable, or the dotted path of one"

    def convert(self, value: Any) -> Any:
        return value

    def accepts(self, value: Any) -> bool:
        return value in self.choices or is_callable_or_path(value)

    def hint(self, key: str, default: Any) -> str:
        others = [f"to {o!r} {does}" for o, does in self.options.items() if o != default]
        return (
            f"Set {key} {', '.join(others)}, to a callable such as {self.example!r}, "
            f"or remove it for the default ({default!r})."
        )
