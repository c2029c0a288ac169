"""What the scheduler says besides digests: a win, the weekly small-wins roundup, an admin's
lifecycle reminder (the review prompt with the button that opens the revise modal)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.blocks.common import SECTION_TEXT, Reply, button, context, section
from bot.blocks.figures import money
from bot.blocks.listing import listed, owner_text
from bot.blocks.modals import OPEN_REVISE
from bot.celebrations import FoundWin
from bot.humanize import percent
from bot.lifecycle import Reminder
from bot.revision import Revision
from bot.wins import RecentWins
from models.agreement import Agreement

ICONS = {"deal": ":trophy:", "milestone": ":tada:", "streak": ":fire:"}


def win_message(win: FoundWin, owner: str | None, agreement: Agreement) -> Reply:
    """A won deal (owner, amount, share of the goal now), a milestone or a streak."""
    icon = ICONS.get(win.kind, ":tada:")
    if win.kind == "deal":
        amount = money(win.amount, agreement.currency)
        goal = money(agreement.revenue_goal, agreement.currency)
        share = percent(win.share_of_goal)
        line = f"*{win.title}* by {owner_text(owner)}: {amount}"
        detail = f"The period has now won {share} of its {goal} goal."
        text = f"{win.title} by {owner or 'no owner'}: {amount}; {share} of the {goal} goal now."
        return Reply(text, [section(f"{icon} {line}\n{detail}")])
    if win.kind == "milestone" and win.amount is not None:
        won = money(win.amount, agreement.currency)
        text = f"{win.title}: {won} won so far."
        return Reply(text, [section(f"{icon} *{win.title}*: {won} won so far.")])
    return Reply(f"{win.title}.", [section(f"{icon} *{win.title}*")])


def roundup_message(label: str, wins: RecentWins, currency: str, zone: ZoneInfo) -> Reply | None:
    """The small wins of a week (deals won, kudos given); None when there were none."""
    if not wins.deals_won and not wins.kudos_given:
        return None
    blocks = [section(f":sparkles: *Small wins of {label}*")]
    if wins.deals:
        lines = [
            f"• `{d.deal}` {money(d.amount, currency)} · {owner_text(d.owner)} · "
            f"{d.at.astimezone(zone):%a %d %b}"
            for d in wins.deals
        ]
        title = f"*Deals won: {wins.deals_won}*\n"
        hidden = wins.deals_won - len(wins.deals)
        blocks.append(section(title + listed(lines, hidden, SECTION_TEXT - len(title))))
    if wins.kudos:
        lines = [f"• <@{k.from_user}> to <@{k.to_user}>: {k.text}" for k in wins.kudos]
        title = f"*Kudos: {wins.kudos_given}*\n"
        hidden = wins.kudos_given - len(wins.kudos)
        blocks.append(section(title + listed(lines, hidden, SECTION_TEXT - len(title))))
    blocks.append(context("Thank someone: `/sla kudos @user for …`"))
    text = f"Small wins of {label}: {wins.deals_won} deals won, {wins.kudos_given} kudos."
    return Reply(text, blocks)


def suggestion_text(revision: Revision | None) -> str:
    """The data behind a review prompt: each rate that differs materially from the agreed one."""
    if revision is None:
        return "So far every observed conversion rate is close to the agreed one."
    lines = [
        f"• `{r.id}`: observed {percent(r.observed, 1)} ({r.converted:,} of {r.denominator:,} "
        f"{r.above}) against {percent(r.agreed, 1)} agreed: suggest `rate: {r.suggested}`"
        for r in revision.rates
    ]
    return "Suggested from the data so far:\n" + "\n".join(lines)


def reminder_message(reminder: Reminder) -> Reply:
    """An admin's reminder; the review prompt carries the button that opens the revise modal."""
    blocks = [section(reminder.text)]
    if reminder.kind == "review":
        revise = button("Revise the agreement", OPEN_REVISE, "revise", style="primary")
        blocks.append({"type": "actions", "elements": [revise]})
    plain = reminder.text.replace("*", "")
    return Reply(plain.splitlines()[0], blocks)


UNMATCHED_SHOWN = 20


def unmatched_message(owners: list[tuple[str, str | None]]) -> Reply:
    """CRM owners (email, name) whose leads' alerts cannot mention them, and what to do."""
    lines = [f"• {email}" + (f" ({name})" if name else "") for email, name in owners]
    shown = lines[:UNMATCHED_SHOWN]
    if len(lines) > UNMATCHED_SHOWN:
        shown.append(f"…and {len(lines) - UNMATCHED_SHOWN} more (`slabot status --json` lists all)")
    count = f"{len(owners)} CRM owner{'s' if len(owners) != 1 else ''}"
    text = (
        f":bust_in_silhouette: {count} could not be matched to a Slack user by email, so alerts "
        "about their leads go to the team lead instead:\n"
        + "\n".join(shown)
        + "\nMap them with *Map owners* on the bot's Home tab, or give them the same email in "
        "Slack as in the CRM."
    )
    return Reply(f"{count} not matched to Slack users", [section(text)])
