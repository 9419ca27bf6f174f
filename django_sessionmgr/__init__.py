"""Show users where they're signed in, and let them (and staff) sign sessions out."""

__version__ = "0.2.0.dev0"
