"""Mock NVIDIA NIM server."""
