"""Trident's task packages (the prongs) and the `trident` command."""
