"""What opening a round would send, without sending it: households by channel, SMS segments.

Staff see this before they confirm ``/survey`` in Telegram; it follows
:meth:`surveys.runtime.SurveyRuntime.open_round` step by step but writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import surveys.engine as engine
from estate.access import in_scope
from estate.models import Household
from notifications.outbox import segments_of
from surveys.definition import load_builtin
from surveys.models import Response
from surveys.runtime import ENGINE_CHANNEL, OpenedRound, SurveyRuntime, pick_contact
from surveys.states import ResponseStage, RoundStatus


async def preview_round(
    runtime: SurveyRuntime,
    slug: str,
    *,
    buildings: Sequence[int] | None = None,
    estate: int | None = None,
) -> OpenedRound:
    """The figures :meth:`SurveyRuntime.open_round` would report (its ``round`` is unsaved)."""
    from surveys.models import Round

    defn = load_builtin(slug)
    query = Household.filter(**in_scope(estate)).prefetch_related("contacts")
    if buildings:
        query = query.filter(building__number__in=list(buildings))
    households = await query
    busy = set(
        await Response.filter(
            household_id__in=[h.id for h in households],
            stage=ResponseStage.ACTIVE,
            round__status=RoundStatus.OPEN,
        ).values_list("household_id", flat=True)
    )
    preview = OpenedRound(round=Round(survey=defn.slug), households=len(households))
    steps: dict[str, engine.Step] = {}
    for household in households:
        contact = pick_contact(household, household.contacts, runtime.enabled)
        if contact is None:
            preview.unreachable += 1
            continue
        if household.id in busy:
            preview.waiting += 1
            continue
        preview.by_channel[contact.channel] = preview.by_channel.get(contact.channel, 0) + 1
        if contact.channel != "sms":
            continue
        channel = ENGINE_CHANNEL.get(contact.channel, "sms")
        step = steps.get(contact.language)
        if step is None:
            step = steps[contact.language] = engine.start(defn, channel=channel)
        for message in runtime._messages_for(defn, 0, contact, step, header=True):
            preview.sms_segments += segments_of(contact.channel, message)
    return preview
