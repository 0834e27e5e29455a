"""Hand-off tests: the pure rules as functions, the workflows on the production worker against SQLite and
PostgreSQL, and the committed histories of every shape the hand-off has had."""
