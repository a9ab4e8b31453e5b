"""Pulumi ComponentResources of a kindling cluster, one piece each."""
