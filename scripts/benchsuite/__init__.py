"""The benchmark suite behind `scripts/bench`: turnout against its peers, on one machine, in one run.

- `apps`: the applications every server serves (Flask, Starlette, turnout, a2wsgi);
- `servers`: how each peer is started, pinned to core 0, waited for and always stopped;
- `load`: the clients, pinned to core 1: wrk, the streaming client, the in-process loop;
- `scenarios`: what is measured, in interleaved rounds;
- `report`: medians, per-round ratios, targets, and the Markdown of docs/benchmarks.md.

Run it through `./scripts/bench [--quick] [--only SCENARIO] [--output PATH]`.
"""

from __future__ import annotations
