"""Kubernetes: the monitoring stack (Prometheus, Grafana) rendered for a namespace, validated, diffed, applied."""
