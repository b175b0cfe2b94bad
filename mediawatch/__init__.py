"""mediawatch: media and social monitoring on Scrapy, transformers and Elasticsearch."""

__version__ = "0.1.0"
