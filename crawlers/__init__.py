"""The Scrapy project: spiders, middlewares, item pipelines, source registry and extraction."""
