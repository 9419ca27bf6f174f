"""Show users where they're signed in, and let them (and staff) sign sessions out."""

__version__ = "0.1.0"
