"""Elasticsearch: connection, bundled templates and ILM, `shipper setup`."""
