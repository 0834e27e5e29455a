"""caseloop's benchmark: each scenario measured against caseloop and against a bare Temporal baseline on one dev
server in one run, interleaved, so that the ratios hold on a shared, noisy machine (`make bench`, `make bench-quick`).
"""
