"""Tag users on signup (the seed's second basic use case).

The seed's steps:

    Trigger: User signs up
    Action: Add tag
    Condition (optional): Registration date or source

Segments by source and by date: a user who signed up through a source (the event's
``source``: ``ads``, ``partner``, ``web``, ...) is tagged ``source:<source>``; a user
registered before EARLY_BIRD_ENDS (the end of the launch offer) is also tagged
``early-bird``. ``registered_at`` is an ISO date or date-time (``emit`` refuses anything
else); its date is compared as a date (so a time of day does not matter). A signup
without a source gets no source tag, and one without ``registered_at`` is read as
registered when the run starts.
"""

from __future__ import annotations

import datetime as dt

from flowkit import Run, branch, on
from flowkit.lms import add_tag, event_date

EARLY_BIRD_ENDS = dt.date(2026, 4, 1)  # registered on this date or later: no early-bird tag


@on("user.signed_up")
async def tag_on_signup(run: Run) -> None:
    source = run.event.get("source")
    if await branch("came through a source?", bool(source)):
        await add_tag(f"source:{source}")
    registered = (event_date(run, "registered_at").date() if run.event.get("registered_at")
                  else run.now.date())
    if await branch("registered before the early-bird date?", registered < EARLY_BIRD_ENDS):
        await add_tag("early-bird")
