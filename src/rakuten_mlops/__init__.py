"""Rakuten MLOps: product-type classification of e-commerce listings, end to end."""

__version__ = "0.1.0"
