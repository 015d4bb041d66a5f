"""Certification renewal reminders (advanced use case).

Trigger: a certificate is awarded. Wait until 30 days before the date in the user's
``cert_expires`` field (in the user's timezone; at once if that moment has passed);
send a reminder email; wait 15 days; branch on whether the user enrolled in the
refresher course: a confirmation email, or a follow-up reminder. Exit: the user
completes the refresher course.
"""

from __future__ import annotations

from flowkit import Run, branch, exit_when, on, wait
from flowkit.lms import field_date, send_email

REFRESHER = "safety-refresher"


@on("certificate.awarded", where=lambda event: event["certificate"] == "safety")
@exit_when("course.completed", where=lambda event: event.get("course") == REFRESHER)
async def certification_renewal(run: Run) -> None:
    await wait(until=field_date(run, "cert_expires", days=-30))
    await send_email("certificate-expiring", refresher=REFRESHER)
    await wait(days=15)
    if await branch("enrolled in the refresher?", run.user.is_enrolled(REFRESHER)):
        await send_email("refresher-confirmed", refresher=REFRESHER)
    else:
        await send_email("certificate-follow-up", refresher=REFRESHER)
