"""The REST door: routes, OpenAPI and Swagger UI, all derived from the protos."""
