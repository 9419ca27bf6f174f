"""The Django admin: the changelist, its actions, the User page."""
