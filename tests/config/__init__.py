"""Settings, system checks and migrations."""
