"""Command-line interface: parses arguments, builds a config, calls one library function."""
