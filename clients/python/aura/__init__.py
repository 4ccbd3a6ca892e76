"""Aura client SDK: generated gRPC stubs live in aura.v1."""
