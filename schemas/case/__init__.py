"""The case's language (lifecycle A): stages, actors, commands, the state that survives continue-as-new, views."""
