"""Generated from protos/aura/v1; regenerate with make protos."""
