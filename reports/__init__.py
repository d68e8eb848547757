"""Trainer reports: team tables, trainee histories, transcripts, CSV exports and charts.

Built from plain view rows (reports/views.py) that storage fills; no telegram, no SQL here.
"""
