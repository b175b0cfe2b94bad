"""Elasticsearch: local node (``node``), client factory (``client``), mappings, bulk writer, search."""
