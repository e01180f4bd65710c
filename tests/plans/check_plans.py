#!/usr/bin/env python3
"""Read auto_explain's JSON plans (NOTICE messages, as psql printed them) and fail when a plan node, summed
over every execution of its statement, removed more than RATIO times the rows it kept by a filter (and more
than FLOOR rows in all, and more than PER_EXECUTION rows per execution of the node): the signature of a plan that walks a whole client (or run) per row it needs.
Usage: check_plans.py FILE.  Prints the worst nodes; exit 1 when one is over the bound."""
import json
import re
import sys
from collections import defaultdict

RATIO = 100
FLOOR = 10_000
# A node that removes at most this many rows per execution on average reads a bounded set each time (a
# one-page table scanned whole: the planner knows the table's current size, so it takes the index once the
# table grows), not a walk that grows with the client: those removed hundreds or thousands per execution.
PER_EXECUTION = 10

text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
plans = []
for chunk in re.split(r"^NOTICE:  duration: [0-9.]+ ms  plan:\n", text, flags=re.M)[1:]:
    end = chunk.find("\nNOTICE:")
    body = chunk if end < 0 else chunk[:end]
    body = body[: body.rfind("}") + 1]
    plans.append(json.loads(body))
if not plans:
    sys.exit("no plan was logged: is auto_explain loaded?")

totals = defaultdict(lambda: [0.0, 0.0, 0, "", 0])  # (query, node path) -> removed, kept, executions, node, loops


def walk(node, path, query):
    loops = node.get("Actual Loops", 0)
    removed = (node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Join Filter", 0)) * loops
    kept = node.get("Actual Rows", 0) * loops
    t = totals[(query, path)]
    t[0] += removed
    t[1] += kept
    t[2] += 1
    t[4] += loops
    t[3] = f'{node["Node Type"]} {node.get("Index Name", node.get("Relation Name", ""))}'.strip()
    for i, child in enumerate(node.get("Plans", [])):
        walk(child, f"{path}.{i}", query)


for p in plans:
    query = " ".join(p.get("Query Text", "").split())[:400]
    walk(p["Plan"], "0", query)

worst = sorted(totals.items(), key=lambda kv: kv[1][0] / max(kv[1][1], 1), reverse=True)
bad = [(k, v) for k, v in worst
       if v[0] > FLOOR and v[0] > RATIO * max(v[1], 1) and v[0] > PER_EXECUTION * max(v[4], 1)]
print(f"{len(plans)} plans, {len(totals)} plan nodes checked (bound: removed <= {RATIO} x kept, or <= {FLOOR} in all)")
for (query, path), (removed, kept, runs, node, _) in (bad or worst)[:12]:
    print(f"  {'OVER ' if bad else ''}{node}: removed {removed:.0f}, kept {kept:.0f} over {runs} executions: {query}")
sys.exit(1 if bad else 0)
