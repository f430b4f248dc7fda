"""Scenarios a case manager would recognise, against real Temporal and PostgreSQL."""
