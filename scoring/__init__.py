"""Scoring: reply classifiers (motive appeal, behaviours), drill rubrics and score breakdowns.

Pure code: text in, scores and evidence out. Never imports telegram or sqlalchemy.
"""
