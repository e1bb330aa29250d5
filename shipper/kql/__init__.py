"""KQL, the query language of Kibana's search bar: parsed as Kibana parses it (ast.py, parser.py), translated
to Elasticsearch's query DSL as Kibana translates it (dsl.py), and evaluated over events in memory
(evaluate.py) so that `shipper grep` and `shipper search` give the same hits on the same lines."""
