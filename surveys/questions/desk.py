"""Residents' questions on the database: store one (or answer it at once from the FAQ), list
today's open questions of some buildings in groups, answer a group once for everyone in it.

The grouping and FAQ matching are pure (:mod:`surveys.questions.grouping`).
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from config.i18n import text
from estate.access import Scope, in_scope
from estate.models import Contact, Household, Staff
from notifications.message import Message
from notifications.models import Priority
from notifications.outbox import Outgoing, enqueue_many
from surveys.pickups.models import Faq, Question
from surveys.pickups.texts import TEXTS
from surveys.questions.grouping import Asked, FaqEntry, Group, best_faq, group_questions

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1000
FAQ_TTL = 30.0  # seconds the FAQ stays cached in one process


class QuestionDesk:
    """Questions in and answers out; the FAQ is cached briefly (answers are rare, questions
    many)."""

    def __init__(self, *, tz: ZoneInfo) -> None:
        self.tz = tz
        self._faqs: list[FaqEntry] | None = None
        self._faq_answers: dict[int, str] = {}
        self._faqs_until = 0.0

    # ---- residents -------------------------------------------------------------------------
    async def receive(self, contact: Contact, body: str, *, now: datetime) -> Message:
        """Store a question (or answer it from the FAQ); the reply to send the resident."""
        household_id: int = contact.household_id  # type: ignore[attr-defined]
        rows = await Household.filter(id=household_id).values_list(
            "building__number", "building__estate_id"
        )
        building, estate = int(rows[0][0]), int(rows[0][1])
        body = body.strip()[:MAX_QUESTION_CHARS]
        # Building numbers repeat across estates: only this estate's answers (or everyone's).
        faqs = [f for f in await self.faqs(now) if f.estate in (None, estate)]
        faq = best_faq(body, building, faqs)
        lang = contact.language
        if faq is not None:
            await Question.create(
                household_id=household_id,
                contact_id=contact.id,
                building=building,
                text=body,
                asked_at=now,
                status="faq",
                faq_id=faq.id,
                answered_at=now,
            )
            log.info("question answered from faq %d", faq.id)
            return Message(
                text(TEXTS, "q_faq", lang, question=faq.question, answer=self._faq_answers[faq.id])
            )
        await Question.create(
            household_id=household_id,
            contact_id=contact.id,
            building=building,
            text=body,
            asked_at=now,
        )
        log.info("question stored for building %d", building)
        return Message(text(TEXTS, "q_received", lang))

    async def faqs(self, now: datetime) -> list[FaqEntry]:
        stamp = now.timestamp()
        if self._faqs is None or stamp >= self._faqs_until or stamp < self._faqs_until - FAQ_TTL:
            rows = await Faq.filter(active=True).order_by("id")
            self._faqs = [
                FaqEntry(f.id, f.question, tuple(f.buildings or ()), f.estate_id) for f in rows
            ]
            self._faq_answers = {f.id: f.answer for f in rows}
            self._faqs_until = stamp + FAQ_TTL
        return self._faqs

    def forget_faqs(self) -> None:
        self._faqs = None

    # ---- staff -----------------------------------------------------------------------------
    def day_start(self, now: datetime) -> datetime:
        local = now.astimezone(self.tz)
        return datetime.combine(local.date(), time(0), tzinfo=self.tz)

    async def today(self, scope: Scope, *, now: datetime) -> tuple[list[Group], int]:
        """Today's open questions of the scope, grouped (most asked first), and how many
        questions of the scope were answered at once from the FAQ today."""
        start = self.day_start(now)
        query = Question.filter(asked_at__gte=start, asked_at__lt=start + timedelta(days=1))
        if not scope.everything:
            query = query.filter(
                building__in=sorted(scope.buildings),
                **in_scope(scope.estate, "household__building__"),
            )
        rows = await query.values_list("id", "text", "building", "status")
        asked = [Asked(i, t, b) for i, t, b, status in rows if status == "open"]
        auto = sum(1 for *_, status in rows if status == "faq")
        return group_questions(asked), auto

    async def answer(
        self, group_id: int, answer: str, *, staff: Staff, scope: Scope, now: datetime
    ) -> int | None:
        """Answer the open group ``group_id`` (the id of its first question) of the scope:
        every asker is told, the answer becomes an FAQ. ``None`` when there is no such open
        group today; the number of questions answered otherwise. Callers check the scope of
        ``group_id`` first (:meth:`building_of`)."""
        groups, _ = await self.today(scope, now=now)
        group = next((g for g in groups if g.id == group_id or group_id in g.ids), None)
        if group is None:
            return None
        questions = await Question.filter(id__in=group.ids, status="open").prefetch_related(
            "contact"
        )
        if not questions:
            return None
        covers = [] if scope.everything else sorted(scope.buildings)
        outgoing: list[Outgoing] = []
        async with in_transaction() as conn:
            faq = await Faq.create(
                question=group.text,
                answer=answer,
                buildings=covers,
                estate_id=scope.estate,
                staff_id=staff.id,
                created_at=now,
                using_db=conn,
            )
            await (
                Question.filter(id__in=[q.id for q in questions], status="open")
                .using_db(conn)
                .update(status="answered", faq_id=faq.id, answered_at=now)
            )
            told: set[int] = set()
            for question in questions:
                contact: Contact | None = question.contact
                if contact is None or contact.id in told or contact.status == "opted_out":
                    continue
                told.add(contact.id)
                outgoing.append(
                    Outgoing(
                        contact=contact,
                        message=Message(
                            text(
                                TEXTS,
                                "q_answer",
                                contact.language,
                                question=question.text,
                                answer=answer,
                            )
                        ),
                        key=f"answer:{question.id}:{faq.id}",
                        priority=Priority.REPLY,
                        purpose="answer",
                    )
                )
            await enqueue_many(outgoing, now=now, using_db=conn)
        self.forget_faqs()
        log.info("question group %d answered: %d questions", group.id, len(questions))
        return len(questions)

    @staticmethod
    async def building_of(question_id: int) -> int | None:
        rows = await Question.filter(id=question_id).values_list("building")
        return int(rows[0][0]) if rows else None
