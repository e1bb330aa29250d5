"""Enrichment across lines: queue-ID correlation into message transactions."""
