"""Procedure packages: reading folders, validating them, publishing immutable versions."""
