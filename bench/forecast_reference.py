#!/usr/bin/env python3
"""NumPy reference of Tandem's Monte Carlo forecast (tandem_domain::forecast).

Run by `tandem-bench-forecast`, which writes the inputs as JSON on standard
input and reads the results and timings as JSON from standard output. It
implements the same model, for one goal per call, the straightforward
vectorised way: all trials at once, a block of simulated days at a time.

- History: the `window_days` calendar days before today; one sample per
  working day (Monday to Friday, not a holiday) = items done that day; items
  done on a non-working day count for the previous working day in the window
  (the next one when there is none).
- Calendar: the working days after today, at most `horizon_working_days`.
- A trial: each simulated day draws a day of history uniformly; the goal is
  done on the first day its done count reaches its scope; every 7 calendar
  days after today one weekly growth draw joins the scope (from the observed
  weekly additions, or uniform in a range); milestones are reached when the
  done count reaches their cumulative items.
- Results: nearest-rank P50/P70/P85/P95; probability of finishing on or
  before the deadline; cut line = the largest k such that in at least
  `confidence` of the trials at least k items (capped at the remaining
  work) were done by the deadline.

Timing covers the forecasts only (history, calendar, simulation and
summaries, per goal), not reading the input or starting Python: wall clock
and the thread's CPU time, per repetition.

Needs NumPy: pip install numpy
"""

import json
import math
import platform
import sys
import time

try:
    import numpy as np
except ImportError:  # pragma: no cover - reported to the harness
    sys.exit("NumPy is not installed: pip install numpy")

BLOCK_DAYS = 64
PERCENTILES = (50, 70, 85, 95)


def history(today, done, window_days, holidays):
    start = today - np.timedelta64(window_days, "D")
    days = np.arange(start, today, dtype="datetime64[D]")
    inside = done[(done >= start) & (done < today)]
    counts = np.bincount((inside - start).astype(np.int64), minlength=days.size)
    working = np.is_busday(days, holidays=holidays)
    if not working.any():
        return np.zeros(0, dtype=np.int64)
    # Each day's items go to the latest working day at or before it; days
    # before the first working day go to the first.
    owner = np.maximum(np.cumsum(working) - 1, 0)
    return np.bincount(owner, weights=counts, minlength=int(working.sum())).astype(np.int64)


def calendar(today, horizon, holidays):
    """today, then the working days after it."""
    after = np.busday_offset(today, np.arange(1, horizon + 1), roll="backward", holidays=holidays)
    return np.concatenate(([today], after))


def due_day(cal, today, deadline):
    if deadline is None:
        return None
    d = np.datetime64(deadline, "D")
    if d < today:
        return -1
    return int(np.searchsorted(cal[1:], d, side="right"))


def growth_sampler(growth, rng):
    kind = growth.get("kind", "none")
    if kind == "weekly" and any(growth["added_per_week"]):
        weeks = np.asarray(growth["added_per_week"], dtype=np.int64)
        return lambda shape: weeks[rng.integers(0, weeks.size, size=shape)]
    if kind == "range" and growth["max_per_week"] > 0:
        lo, hi = growth["min_per_week"], growth["max_per_week"]
        return lambda shape: rng.integers(lo, hi + 1, size=shape)
    return None


def summarise(finish, horizon, cal, due, s_at, count, trials, confidence):
    ordered = np.sort(finish)
    dates = []
    for p in PERCENTILES:
        rank = max((trials * p + 99) // 100, 1)
        d = int(ordered[rank - 1])
        dates.append(None if d > horizon else str(cal[d]))
    out = dict(zip(("p50", "p70", "p85", "p95"), dates))
    out["finished_within_horizon"] = float(np.mean(finish <= horizon))
    if due is None:
        out["on_time_probability"], out["cut_line"] = None, None
    elif due < 0:
        out["on_time_probability"], out["cut_line"] = 0.0, 0
    else:
        out["on_time_probability"] = float(np.mean(finish <= due))
        done = np.minimum(s_at[due], count)
        rank = max(math.ceil(confidence * trials - 1e-9), 1)
        out["cut_line"] = int(np.sort(done)[trials - rank])
    return out


def forecast_goal(goal, inp, today, done, holidays, rng):
    trials = inp["trials"]
    horizon = inp["horizon_working_days"]
    sample = history(today, done, inp["window_days"], holidays)
    if sample.sum() < inp["min_history"]:
        return {"key": goal["key"], "outcome": "too_little_history"}
    cal = calendar(today, horizon, holidays)
    week = (cal - today).astype(np.int64) // 7
    draws_per_day = np.diff(week)  # index d-1 → growth draws on day d
    grow = growth_sampler(goal.get("growth", {"kind": "none"}), rng)

    remaining = goal["remaining"]
    marks = [m["cumulative_items"] for m in goal["milestones"]]
    dues = [due_day(cal, today, goal.get("deadline"))] + [
        due_day(cal, today, m.get("deadline")) for m in goal["milestones"]
    ]
    checkpoints = sorted({d for d in dues if d is not None and d >= 0})
    # Done count by each checkpoint; trials that finished earlier keep "all".
    s_at = {d: np.full(trials, np.iinfo(np.int64).max, dtype=np.int64) for d in checkpoints}
    for d in checkpoints:
        if d == 0:
            s_at[0][:] = 0

    finish = np.full(trials, horizon + 1, dtype=np.int64)
    reached = [np.full(trials, horizon + 1, dtype=np.int64) for _ in marks]
    for j, c in enumerate(marks):
        if c == 0:
            reached[j][:] = 0
    if remaining == 0:
        finish[:] = 0
        active = np.zeros(0, dtype=np.int64)
    else:
        active = np.arange(trials)
    s = np.zeros(active.size, dtype=np.int64)
    scope = np.full(active.size, remaining, dtype=np.int64)
    day0 = 0
    while active.size and day0 < horizon:
        b = min(BLOCK_DAYS, horizon - day0)
        cs = s[:, None] + np.cumsum(sample[rng.integers(0, sample.size, size=(active.size, b))], axis=1)
        scope_cs = scope[:, None]
        if grow is not None:
            per_day = draws_per_day[day0 : day0 + b]
            total = int(per_day.sum())
            if total:
                added = np.cumsum(grow((active.size, total)), axis=1)
                ends = np.cumsum(per_day)  # draws made by the end of each day
                by_day = np.where(ends > 0, added[:, np.maximum(ends - 1, 0)], 0)
                scope_cs = scope[:, None] + by_day
        hit = cs >= scope_cs
        done_now = hit.any(axis=1)
        finish[active[done_now]] = day0 + hit.argmax(axis=1)[done_now] + 1
        for j, c in enumerate(marks):
            mh = cs >= c
            got = mh.any(axis=1)
            first = day0 + mh.argmax(axis=1) + 1
            cur = reached[j][active]
            reached[j][active] = np.where((cur > horizon) & got, first, cur)
        for d in checkpoints:
            if day0 < d <= day0 + b:
                s_at[d][active] = cs[:, d - day0 - 1]
        keep = ~done_now
        active, s = active[keep], cs[keep, -1]
        scope = np.broadcast_to(scope_cs, cs.shape)[keep, -1]
        day0 += b

    conf = inp["confidence"]
    out = {"key": goal["key"], "outcome": "ready"}
    out.update(summarise(finish, horizon, cal, dues[0], s_at, remaining, trials, conf))
    out["milestones"] = []
    for j, m in enumerate(goal["milestones"]):
        ms = {"key": m["key"]}
        ms.update(summarise(reached[j], horizon, cal, dues[j + 1], s_at, m["cumulative_items"], trials, conf))
        out["milestones"].append(ms)
    return out


def main():
    inp = json.load(sys.stdin)
    today = np.datetime64(inp["today"], "D")
    done = np.array(inp["done_dates"], dtype="datetime64[D]")
    holidays = np.array(inp["holidays"], dtype="datetime64[D]")
    times, cpu, results = [], [], None
    for _ in range(inp["reps"]):
        start, start_cpu = time.perf_counter(), time.thread_time()
        results = [
            forecast_goal(goal, inp, today, done, holidays, np.random.default_rng(1000 + i))
            for i, goal in enumerate(inp["goals"])
        ]
        times.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.thread_time() - start_cpu) * 1000.0)
    json.dump(
        {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "times_ms": times,
            "cpu_ms": cpu,
            "results": results,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
