"""Revoking sessions: the revoke core, its races, its attackers, its reasons and signals."""
