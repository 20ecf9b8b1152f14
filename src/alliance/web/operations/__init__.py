"""Operating a site safely: the field-key check, key rotation, backup and restore.

The services live here (Django, no CLI); ``alliance.cli.operations`` wraps them in commands.
"""
