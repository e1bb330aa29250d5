"""Kibana saved objects as code: data views and saved searches rendered from kibana_dashboards/src into
Kibana's saved-object export format (NDJSON), and checked offline against its format rules."""
