"""Joint handling (一件事): one application run across several departments' steps; the definition and the run."""
