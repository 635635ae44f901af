"""Input and output: measurement readers, atomic file writing."""
