"""Expectations: data-quality rules run on every delivery before it is loaded."""
