"""The ledger: what workflows record beside Temporal's history, one module and one repository per aggregate."""
