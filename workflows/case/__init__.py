"""The case (lifecycle A): a pure state machine for its rules and the entity workflow that runs it."""
