"""Enrichment of extracted documents: language, topic, sentiment, near-duplicates."""
