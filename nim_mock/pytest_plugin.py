"""pytest plugin (placeholder until the plugin issue)."""
