"""Aura: real-time event recommendations for Ventyy, served over gRPC."""

__version__ = "0.1.0"
