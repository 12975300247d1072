"""Plugins shipped with the converter, registered through the same hook as a user's own."""
