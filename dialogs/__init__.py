"""Drill engines: one `transitions` state machine per drill kind, plus what they say and how.

Pure code: text in, messages and scores out. No telegram, no SQL, no clock, no I/O per message.
"""
