"""Exports: the files analysts and the report read, written from the finished warehouse."""
