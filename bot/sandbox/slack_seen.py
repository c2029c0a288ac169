"""What a member sees in the fake Slack's views, read over HTTP by `slabot sandbox click --home`.

Slack's Web API has no method that reads a Home tab back, and the sandbox's command line runs
apart from the fake, so the fake serves its views at `GET /sandbox/views?user=U…`: that
member's published Home tab (`null` until the bot publishes one) and every modal open. It is
the person's screen, not the bot's API: no token, not in `FakeSlack.calls`, never faulted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.sandbox.slack import FakeSlack

PATH = "/sandbox/views"


def views_seen(fake: FakeSlack, args: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
    """(status, extra headers, body) for `GET PATH?user=U…`."""
    user = str(args.get("user") or "")
    if not user:
        return 400, {}, {"ok": False, "error": "invalid_arguments", "detail": "user= is needed"}
    with fake._lock:  # the views change under the bot's calls, in the server's other threads
        home = fake.home.get(user)
        modals = [{**view, "id": view_id} for view_id, view in fake.modals.items()]
    # The Home tab with its id, as `views.publish` answered it to the bot.
    published = None if home is None else {**home, "id": f"V{user}"}
    return 200, {}, {"ok": True, "home": published, "modals": modals}
