"""The transport-agnostic domain: catalog, profiles, ranking, learning."""
