"""Simulated treatment episodes for the alert benchmarks: the simulator now lives in the core
(`alliance.core.outcomes.simulate`, which documents the course types and parameters) so the web
demo can use it; with its alliance effects at their defaults (0) it draws the same episodes as
before, seed for seed."""

from alliance.core.outcomes.simulate import NOISE_SD, PROPORTIONS, TYPES, Episode, simulate

__all__ = ["NOISE_SD", "PROPORTIONS", "TYPES", "Episode", "simulate"]
