"""Shared machinery of the provider sandboxes: serving, fault injection, request log, data store."""
