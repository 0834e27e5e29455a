"""The department gateway: signed webhook delivery of pushes, and the inbox for departments without one."""
