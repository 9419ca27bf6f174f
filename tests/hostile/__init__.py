"""Hostile input: headers, query strings, oracles on session keys, fuzzing."""
