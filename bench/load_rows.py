"""The load rows of the table: the `/sla` burst, the breach storm and the HubSpot sync."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace

from bench import hubspot, storm
from bench.data import AT, Shape, scratch_store, tidy
from bench.jobs import Job, Runner, settle
from bench.options import Sizes
from bench.results import Measured, Row, facts_text, make_row, tidied_note

ACK_TARGET_S = 3.0  # Slack shows the person an error when the ack is later
CHECK_EVERY_S = 300.0  # the example agreement's `check_every`: the storm must be done by then
HUBSPOT_SHARE_TARGET = 0.90  # of the search limit's bound (4 pages of 200 a second)
HUBSPOT_MEMORY_TARGET_MB = 250.0
HUBSPOT_JUDGED_FROM_PAGES = 10  # fewer pages: the first searches' spacing decides the share


def burst_row(runner: Runner, store: str, url: str, size: str, sizes: Sizes) -> Row:
    """`burst_requests` `/sla` commands at once to one replica on the filled status store."""
    requests = sizes.burst_requests
    runner.say(f"/sla burst on {store}: {requests} commands at once")
    timed = runner.job(Job("burst", url=url, instants=(AT,), runs=requests))
    facts = timed.facts
    missed = []
    if facts["acknowledged (200)"] < requests:
        missed.append("unacknowledged")
    if facts["replies"] < requests or facts["failed replies"]:
        missed.append("replies lost or failed")
    return make_row(
        f"/sla burst ({requests} at once → ack)",
        store,
        size,
        timed,
        None,
        runner.options.isolate,
        time_target=ACK_TARGET_S,
        judged_on="max",
        more_targets=("every reply",),
        missed=tuple(missed),
        notes="signed read commands (status, help, plan, leads…, in turn) sent together to one "
        "replica (the real listener, as `slabot run` serves it, warmed by one request); the "
        "fake Slack and the senders in another process; time to each HTTP acknowledgement; "
        f"{facts_text(facts)}{tidied_note(store)}",
    )


def storm_rows(runner: Runner, store: str, sizes: Sizes) -> Iterator[Row]:
    """One check announcing `storm_open` breaches, and its delivery at Slack's channel pace."""
    shape = Shape(
        leads=sizes.storm_leads,
        open_leads=sizes.storm_open,
        owners=sizes.storm_owners,
        days=sizes.days,
    )
    size = f"{shape.leads:,} leads, {shape.open_leads:,} breached, {shape.owners} owners"
    with scratch_store(
        store, "storm", postgres_url=runner.options.postgres_url, folder=runner.options.folder
    ) as url:
        runner.fill(url, shape, f"storm store on {store} ({shape.leads:,} leads)")
        asyncio.run(settle(url, AT - storm.SETTLED_BEFORE))
        asyncio.run(tidy(url))
        job = Job("storm", url=url, instants=(AT,))
        runner.say(f"breach storm on {store}: the check, traced and rolled back")
        traced = runner.job(replace(job, trace=True))
        runner.say(f"breach storm on {store}: the check and its delivery")
        timed = runner.job(job)
    check_s, delivery_s = timed.seconds
    facts = timed.facts
    yield make_row(
        "breach storm: check (alert_cycle)",
        store,
        size,
        replace(timed, seconds=(check_s,)),
        traced,
        runner.options.isolate,
        time_target=CHECK_EVERY_S,
        notes="every untouched lead past its deadline announced by one check, after an "
        "earlier check recorded their states; one message per person and kind; "
        f"{_storm_facts(facts, ('leads announced', 'messages'))}{tidied_note(store)}",
    )
    missed = []
    if facts["posted"] < facts["messages"] or facts["failed"]:
        missed.append("messages not posted")
    if facts["most posts in one channel in 1 s"] > storm.CHANNEL_BURST + storm.CHANNEL_RATE:
        missed.append("channel rate")
    if check_s + delivery_s > CHECK_EVERY_S:
        missed.append("check + delivery past the next check")
    delivered = Measured((delivery_s,), None, timed.rss_peak, facts)
    yield make_row(
        "breach storm: delivery (outbox → Slack)",
        store,
        size,
        delivered,
        None,
        runner.options.isolate,
        time_target=None,
        more_targets=(
            f"check + delivery ≤ {CHECK_EVERY_S / 60:.0f} min",
            f"≤ {storm.CHANNEL_RATE:g}/s per channel (bursts of {storm.CHANNEL_BURST})",
            "every message posted",
        ),
        missed=tuple(missed),
        notes="`deliver_alerts` with the bot's Slack client (it waits out each 429's "
        "Retry-After) against the fake Slack holding each channel to "
        f"{storm.CHANNEL_RATE:g} message/s, bursts of {storm.CHANNEL_BURST}; RSS is the "
        "check's process, the fake Slack included; "
        + _storm_facts(facts, ("posted", "channels", "429 answers"))
        + f", most posts in one channel in 1 s {facts['most posts in one channel in 1 s']:.0f}"
        + f", left for the next check {facts['left for the next check']:.0f}",
    )


def _storm_facts(facts: dict[str, float], names: tuple[str, ...]) -> str:
    return facts_text({name: facts[name] for name in names})


def hubspot_rows(runner: Runner, store: str, sizes: Sizes) -> Iterator[Row]:
    """One sync of `hubspot_contacts` contacts from the fake portal into a fresh store."""
    contacts, speed = sizes.hubspot_contacts, sizes.hubspot_speed
    runner.say(f"HubSpot sync on {store}: {contacts:,} contacts at x{speed:g}")
    with scratch_store(
        store, "hubspot", postgres_url=runner.options.postgres_url, folder=runner.options.folder
    ) as url:
        # Traced while timed, as `python -m bench.hubspot` always measured it: its pace is the
        # portal's rate limit, not our allocation speed.
        timed = runner.job(Job("hubspot", url=url, count=contacts, speed=speed, trace=True))
    facts = timed.facts
    share = facts["share of the bound"]
    judged = facts["pages"] >= HUBSPOT_JUDGED_FROM_PAGES
    missed = ("throughput",) if judged and share < HUBSPOT_SHARE_TARGET else ()
    pace = "real time" if speed == 1 else f"time x{speed:g} (the share is not a measure)"
    yield make_row(
        "HubSpot sync (fake portal, real HTTP)",
        store,
        f"{contacts:,} contacts",
        timed,
        timed,
        runner.options.isolate,
        time_target=None,
        memory_target_mb=HUBSPOT_MEMORY_TARGET_MB,
        memory_of="python",  # the process also holds the fake portal's contacts
        more_targets=(f"≥ {HUBSPOT_SHARE_TARGET:.0%} of the search-limit bound",),
        missed=missed,
        notes=f"{pace}; {facts['requests per record']:.4f} requests per record (optimum "
        f"{1 / hubspot.PAGE:.4f}), {share:.0%} of the search-limit bound"
        + ("" if judged else f" (not judged under {HUBSPOT_JUDGED_FROM_PAGES} pages)")
        + f"; {facts_text({k: facts[k] for k in ('contacts', 'requests', 'pages')})}; "
        "Python peak traced while timed (the sync's own allocations, judged); RSS includes "
        "the fake portal's contacts and tracemalloc's bookkeeping",
    )
