"""Ingest: partner files from the landing folder to the warehouse's raw layer."""
