"""Shared plumbing: settings, logging, the Temporal client, the database pool and its migrations."""
