"""Neutral helpers every package may use, each in one place: event nesting, ids, time formats, compression."""
