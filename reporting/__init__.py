"""Programme reports for programme managers (DESIGN §5, §9), computed from the read model with SQL.

What a report says is `trajectory.programme_report` and `readmodel.reports` computes it; here
`tables` writes it as CSV, `page` as one self-contained HTML page with the `plots`, and
`command` is `python -m starter report`.
"""
