"""Programme reports for programme managers (DESIGN §5, §9), computed from the read model with SQL.

`figures` holds what a report says, `queries` builds it, `tables` writes it as CSV, `page` as
one self-contained HTML page with the `plots`, and `command` is `python -m starter report`.
"""
