"""The HTTP API for partners, backend services and case managers (DESIGN §8)."""
