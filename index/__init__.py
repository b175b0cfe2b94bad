"""Elasticsearch: the local node (``node``), the client factory (``client``), mappings, bulk writer, search."""
