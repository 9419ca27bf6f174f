"""The self-service and staff JSON APIs and their schema."""
