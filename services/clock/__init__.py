"""The legal clock: working-day calendar, deadlines in four units, pauses, extensions and card rungs."""
