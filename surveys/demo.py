"""The demo estate never mixes with a committee's real residents.

A fresh machine's first ``louzhang run`` seeds the demo estate (fake residents) so the dashboard
and the simulator can be tried at once. The committee's first real import replaces it: the demo
estate and the demo staff are deleted, with the survey rounds and call-ups that only ever held
demo households (and their reminders). Seeding the demo into a database that holds real
residents is refused.
"""

from __future__ import annotations

from estate.first_start import RemovedDemo, demo_present, remove_demo_estate
from notifications.drives.models import Drive, DriveHousehold
from notifications.models import Timer
from surveys.models import Response, Round


async def replace_demo() -> RemovedDemo | None:
    """Remove the demo estate and everything that only concerned it; None when there is none."""
    if not await demo_present():
        return None
    before_rounds = set(await Round.all().values_list("id", flat=True))
    before_drives = set(await Drive.all().values_list("id", flat=True))
    removed = await remove_demo_estate()
    kept_rounds = set(await Response.all().distinct().values_list("round_id", flat=True))
    emptied = sorted(before_rounds - kept_rounds)
    if emptied:
        for round_id in emptied:
            await Timer.filter(key__startswith=f"round:{round_id}:").delete()
        await Round.filter(id__in=emptied).delete()
    kept_drives = set(await DriveHousehold.all().distinct().values_list("drive_id", flat=True))
    emptied_drives = sorted(before_drives - kept_drives)
    if emptied_drives:
        await Drive.filter(id__in=emptied_drives).delete()
    return removed
