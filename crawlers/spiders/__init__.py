"""Spiders: ``news`` (feeds, sitemaps, listings -> articles) and ``forum`` (sections -> threads -> posts)."""
