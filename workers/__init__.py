"""Process entry points: settings, logging, metrics, the worker and the embedded stack."""
