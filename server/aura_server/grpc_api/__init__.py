"""The gRPC door: server, thin servicers, converters, error mapping."""
