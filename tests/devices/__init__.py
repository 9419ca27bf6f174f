"""What a login records about its device and network."""
