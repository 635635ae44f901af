"""Figures: functions take numpy arrays and return matplotlib figures (Agg backend)."""
