"""The framework-free core: instruments, scoring, change statistics, alerts, transcripts.

Nothing under ``alliance.core`` imports Django, the CLI or any web code (enforced by
import-linter in the test suite), so the CLI, the web app and library users share one
implementation of every clinical rule.
"""
