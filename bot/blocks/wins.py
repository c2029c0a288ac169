"""`/sla wins` and kudos: recent deals won and thanks given, and the kudos post itself."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.blocks.common import SECTION_TEXT, Reply, context, section
from bot.blocks.figures import money
from bot.blocks.listing import listed, owner_text
from bot.wins import RecentWins


def wins_reply(wins: RecentWins, currency: str, zone: ZoneInfo) -> Reply:
    """The latest deals won and kudos in the period, with how many of each in all."""
    if not wins.deals and not wins.kudos:
        message = "No wins yet this period. Be the first: `/sla kudos @someone for …`"
        return Reply(message, [section(message)])
    blocks = []
    if wins.deals:
        lines = [
            f":trophy: `{d.deal}` {money(d.amount, currency)} · {owner_text(d.owner)} · "
            f"{d.at.astimezone(zone):%a %d %b}"
            for d in wins.deals
        ]
        title = f"*Deals won this period: {wins.deals_won}*\n"
        hidden = wins.deals_won - len(wins.deals)
        blocks.append(section(title + listed(lines, hidden, SECTION_TEXT - len(title))))
    if wins.kudos:
        lines = [
            f":clap: <@{k.from_user}> to <@{k.to_user}>: {k.text} · "
            f"{k.at.astimezone(zone):%a %d %b}"
            for k in wins.kudos
        ]
        title = f"*Kudos this period: {wins.kudos_given}*\n"
        hidden = wins.kudos_given - len(wins.kudos)
        blocks.append(section(title + listed(lines, hidden, SECTION_TEXT - len(title))))
    blocks.append(context("Thank someone: `/sla kudos @user for …`"))
    text = f"Wins this period: {wins.deals_won} deals won, {wins.kudos_given} kudos."
    return Reply(text, blocks)


def kudos_post(from_user: str, to_user: str, text: str) -> Reply:
    """The message in the wins channel."""
    return Reply(
        f"Kudos from <@{from_user}> to <@{to_user}>: {text}",
        [section(f":clap: *Kudos to <@{to_user}>* from <@{from_user}>\n>{text}")],
    )
