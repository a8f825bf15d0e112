"""Convergence simulator: a simulator of the ANS Convergence platform."""

__version__ = "0.1.0"
