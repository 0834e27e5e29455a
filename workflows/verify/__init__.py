"""The verification call as a workflow: one durable call, its answer remembered under the call id."""
