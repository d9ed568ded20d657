"""Durability: gunicorn on PostgreSQL through a database restart (bench/durability.py does the work).

A private cluster (never the shared one) is stopped for a few seconds while clients drive case transitions over
HTTP, then started again. Figures: how long the service took to work again after the database was back, how
many transitions were lost or doubled (goal 0), and the error answers (503 only, only while it was down).
"""
from __future__ import annotations

from bench.durability import private_cluster_unavailable, run_outage


def benchmarks():
    why = private_cluster_unavailable()
    if why:
        print(f"  skipped: {why}")
        return
    r = run_outage(clients=4, cases_each=30, before=4.0, down=3.0, after=5.0)
    yield {"bench": "durability.pg_restart_recovery_s", "value": r.recovery_seconds, "unit": "s",
           "reference": r.down_seconds, "ratio": None,
           "goal": "< 5 s from the database's start to the next success (reference: seconds it was down)"}
    yield {"bench": "durability.transitions_lost_or_doubled", "value": r.lost + r.doubled, "unit": "transitions",
           "reference": r.transitions_in_db, "ratio": None,
           "goal": f"0 (reference: transitions in the database; {r.refused_as_done} resent and refused as done)"}
    yield {"bench": "durability.errors_outside_outage", "value": r.errors_outside_outage, "unit": "answers",
           "reference": r.errors, "ratio": None,
           "goal": f"0 (reference: all errors, 503 only: {not r.non_503}; {r.requests} requests)"}
    yield {"bench": "durability.transitions_per_s_after", "value": r.per_second_after, "unit": "transitions/s",
           "reference": r.per_second_before,
           "ratio": round(r.per_second_after / r.per_second_before, 2) if r.per_second_before else None,
           "goal": "ratio ≈ 1 (reference: before the restart; 4 clients, 2 gunicorn workers)"}
