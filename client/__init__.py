"""ChatNVIDIA."""
