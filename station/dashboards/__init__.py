"""Grafana boards and alerts for facility staff: built from code, provisioned through grafana-client."""
