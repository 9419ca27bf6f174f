"""The docs' code and facts against the code."""
