"""Where events go: Elasticsearch bulk output."""
