"""The inbound decision tree: an :class:`Inbound` from any channel (Telegram, SMS, the browser
simulator) goes, in this order, to

0. a Telegram group, supergroup or channel: "write to me privately" (once per chat) and nothing
   else; a household or staff link to that chat is removed (estate/contacts.py). An edited
   message: a note, once per message, to send the corrected answer again (never an answer or a
   command). A button whose numbers no database id can hold: "invalid button", nothing else;
1. enrolment, when it carries a shared phone number (estate/contacts.py links the chat);
2. the staff command registry (bot/staff/), for a staff command or a staff button;
3. for SMS: STOP / START (estate/contacts.py opts the number out or in) and HELP;
4. a drive's call-up reply (1/2/3 or a ``dv:`` button), a survey button or a revision
   (bot/buttons.py parses every button's data), a survey answer (surveys/runtime.py);
5. a resident's free question (the question desk), else a polite "nothing open".

No database query here: contacts are looked up, linked and marked in estate/contacts.py.
Replies go through the outbox like everything else. An SMS number's automatic replies (asked
again, "nothing open", HELP, options again) are capped per hour (notifications/reply_cap.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot import buttons
from bot.staff.base import StaffCommands
from bot.texts import TEXTS
from config.batching import BatchLoader
from config.clock import Clock
from config.i18n import normalise_language, text
from config.settings import Settings
from estate.contacts import contacts_at, heard_from, link_chat, opt_in, opt_out, unlink_chat
from estate.models import Contact, Staff
from estate.phones import PhoneError, mask_phone, normalise_phone
from notifications.drives.parse import parse_reply
from notifications.drives.runtime import DriveRuntime
from notifications.inbound import Inbound, reply_key
from notifications.message import Message
from notifications.models import Priority
from notifications.outbox import Outgoing, enqueue_many
from notifications.reply_cap import ReplyCap
from notifications.seen import SeenMarks
from surveys.engine.answers import Keyword, classify_keyword
from surveys.report import households_in_open_survey
from surveys.runtime import SurveyRuntime

log = logging.getLogger(__name__)

UNKNOWN_REPLY_EVERY = 24 * 3600.0  # one polite reply a day to an unregistered number
CONTACT_TTL = 10.0  # seconds a chat's or number's contacts stay cached

FreeText = Callable[[Inbound, Contact, str], Awaitable[bool]]
StaffLinked = Callable[[Staff], Awaitable[None]]


@dataclass
class Routed:
    toast: str | None = None  # answer to a button press
    direct_reply: str | None = None  # text to answer inline (TwiML) instead of via the outbox


class Router:
    def __init__(
        self,
        runtime: SurveyRuntime,
        *,
        clock: Clock,
        settings: Settings,
        wake: Callable[[], None] = lambda: None,
        drives: DriveRuntime | None = None,
        staff_commands: StaffCommands | None = None,
        free_text: FreeText | None = None,
        staff_linked: StaffLinked | None = None,
    ) -> None:
        self.runtime = runtime
        self.clock = clock
        self.settings = settings
        self.wake = wake
        self.drives = drives
        self.staff_commands = staff_commands or StaffCommands(clock=clock)
        # Text outside any survey (not a command): True when it was taken (a resident's question).
        self.free_text = free_text
        self.staff_linked = staff_linked  # a staff member linked their chat (e.g. command menu)
        self._unknown_replied: dict[str, float] = {}
        # Automatic replies per SMS number (notifications/reply_cap.py: why and how many).
        self.reply_cap = ReplyCap()
        self._contacts: dict[tuple[str, str], tuple[float, list[Contact]]] = {}
        self._contact_loader: BatchLoader[tuple[str, str], list[Contact]] = BatchLoader(contacts_at)
        # Answers given once (per group chat, per edited message), kept in the database.
        self.seen = SeenMarks()
        # The bot's t.me username, known once Telegram is started (bot/app.py sets it).
        self.bot_username: str | None = None

    # ---- sending ---------------------------------------------------------------------------
    async def send(
        self,
        inbound: Inbound,
        message: Message,
        contact: Contact | None = None,
        *,
        tag: str = "reply",
    ) -> None:
        now = self.clock.now()
        key = reply_key(tag, inbound, message, now)
        await enqueue_many(
            [
                Outgoing(
                    contact=contact,
                    message=message,
                    key=key,
                    priority=Priority.REPLY,
                    purpose="reply",
                    channel=inbound.channel,
                    address=inbound.address,
                )
            ],
            now=now,
        )
        self.wake()

    async def contacts_of(self, channel: str, address: str) -> list[Contact]:
        """The registered contacts of a chat or number (one per household), briefly cached:
        every answer starts here. Imports in another process show up within the TTL."""
        key = (channel, address)
        now = self.clock.monotonic()
        hit = self._contacts.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        contacts = await self._contact_loader.load(key) or []
        if contacts:  # unknown senders are not cached: they may be imported any moment
            if len(self._contacts) > 50_000:
                self._contacts.clear()
            self._contacts[key] = (now + CONTACT_TTL, contacts)
        return contacts

    def forget_contacts(self, channel: str, address: str) -> None:
        self._contacts.pop((channel, address), None)

    def lang(self, inbound: Inbound, contact: Contact | None = None) -> str:
        if contact is not None:
            return contact.language
        return normalise_language(inbound.language, self.settings.language)

    # ---- routing ---------------------------------------------------------------------------
    async def handle(self, inbound: Inbound) -> Routed:
        if not inbound.private:
            return await self._not_private(inbound)
        if inbound.edited:
            return await self._edited(inbound)
        if inbound.choice is not None and buttons.out_of_range(inbound.choice):
            return Routed(toast=text(TEXTS, "button_invalid", self.lang(inbound)))
        if inbound.phone is not None:
            return await self.enrol(inbound)
        staff_reply = await self.staff_commands.handle(inbound)
        if staff_reply is not None:
            return Routed(toast=staff_reply.toast)
        contacts = await self.contacts_of(inbound.channel, inbound.address)
        if inbound.channel == "sms":
            return await self._sms(inbound, contacts)
        if not contacts:
            return await self._stranger(inbound)
        contact = await self._current(contacts)
        await self._heard_from(contact)
        lang = contact.language
        body = (inbound.text or "").strip()
        if inbound.choice is not None:
            pressed = buttons.parse(inbound.choice)
            if pressed is not None and pressed.kind is buttons.Kind.DRIVE_REPLY:
                return await self._drive_button(inbound, contact, pressed.values)
            if pressed is not None and pressed.kind is buttons.Kind.REVISE:
                if pressed.values is None:
                    return Routed(toast=text(TEXTS, "unknown_command", lang))
                result = await self.runtime.revise(contact, pressed.values[0])
                return Routed(toast=result.toast)
            result = await self.runtime.handle_button(contact, inbound.choice, inbound.message_id)
            return Routed(toast=result.toast)
        if body.startswith("/"):
            return await self._command(inbound, contact, body)
        if inbound.photo is None and await self._drive_reply(inbound, contact, body):
            return Routed()
        if inbound.photo is not None:
            result = await self.runtime.handle_photo(contact, inbound.photo)
        else:
            result = await self.runtime.handle_text(contact, body)
        if not result.handled and not (
            inbound.photo is None and await self._free_text(inbound, contact, body)
        ):
            await self.send(inbound, Message(text(TEXTS, "nothing_open", lang)), contact)
        return Routed()

    # ---- not a private chat, not a new message ----------------------------------------------
    def private_link(self) -> str:
        return f"https://t.me/{self.bot_username}" if self.bot_username else "https://t.me/"

    async def _not_private(self, inbound: Inbound) -> Routed:
        """A group, supergroup or channel: nothing is linked, answered or run here. A chat
        linked before is unlinked; the chat is asked, once, to write privately."""
        lang = self.lang(inbound)
        now = self.clock.now()
        unlinked = await unlink_chat(inbound.channel, inbound.address, now)
        if unlinked:
            log.warning("a group chat was linked to %d household(s) or staff: unlinked", unlinked)
        self.forget_contacts(inbound.channel, inbound.address)
        link = self.private_link()
        if await self.seen.first_time("telegram-chat", inbound.address, now=now):
            await self.send(inbound, Message(text(TEXTS, "private_only", lang, link=link)))
        return Routed(toast=text(TEXTS, "private_only_short", lang, link=link))

    async def _edited(self, inbound: Inbound) -> Routed:
        """An edited message is never an answer or a command: a note, once per message."""
        contacts = await self.contacts_of(inbound.channel, inbound.address)
        lang = contacts[0].language if contacts else self.lang(inbound)
        key = f"{inbound.address}:{inbound.message_id}"
        if await self.seen.first_time("telegram-edit", key, now=self.clock.now()):
            await self.send(inbound, Message(text(TEXTS, "edited", lang)), tag="edited")
        return Routed()

    async def _free_text(self, inbound: Inbound, contact: Contact, body: str) -> bool:
        return bool(
            body and self.free_text is not None and await self.free_text(inbound, contact, body)
        )

    async def _heard_from(self, contact: Contact) -> None:
        await heard_from(contact, self.clock.now())

    async def _current(self, contacts: list[Contact]) -> Contact:
        """Of a chat's or number's contacts (one per household), the one in a survey now."""
        if len(contacts) == 1:
            return contacts[0]
        active = await households_in_open_survey(
            [c.household_id for c in contacts]  # type: ignore[attr-defined]
        )
        return next((c for c in contacts if c.household_id in active), contacts[0])  # type: ignore[attr-defined]

    async def _command(self, inbound: Inbound, contact: Contact, body: str) -> Routed:
        command = body.split()[0].split("@")[0].lower()
        if command == "/start":
            await self._resume_or_summary(inbound, contact)
            return Routed()
        if command in ("/cancel", "/back"):
            result = await self.runtime.handle_text(
                contact, "取消" if command == "/cancel" else "返回"
            )
            if not result.handled:
                await self.send(
                    inbound, Message(text(TEXTS, "nothing_open", contact.language)), contact
                )
            return Routed()
        await self.send(inbound, Message(text(TEXTS, "unknown_command", contact.language)), contact)
        return Routed()

    async def _resume_or_summary(
        self, inbound: Inbound, contact: Contact, *, quiet: bool = False
    ) -> None:
        """The current question; else what the household answered (to revise); else a note."""
        if await self.runtime.resume(contact):
            return
        summary = await self.runtime.answered_summary(contact)
        if summary is not None:
            await self.send(inbound, summary, contact)
        elif not quiet:
            await self.send(
                inbound, Message(text(TEXTS, "nothing_open", contact.language)), contact
            )

    async def _stranger(self, inbound: Inbound) -> Routed:
        lang = self.lang(inbound)
        if inbound.choice is not None:
            return Routed(toast=text(TEXTS, "not_linked", lang))
        await self.send(
            inbound,
            Message(
                text(TEXTS, "welcome", lang), request_contact=text(TEXTS, "share_button", lang)
            ),
        )
        return Routed()

    # ---- enrolment -------------------------------------------------------------------------
    async def enrol(self, inbound: Inbound) -> Routed:
        """A shared contact: link this chat to every household the number is registered in."""
        lang = self.lang(inbound)
        if not inbound.phone_owner_ok:
            await self.send(
                inbound,
                Message(
                    text(TEXTS, "share_own", lang),
                    request_contact=text(TEXTS, "share_button", lang),
                ),
            )
            return Routed()
        try:
            phone = normalise_phone(inbound.phone or "", self.settings.default_region)
        except PhoneError:
            phone = None
        linked = await link_chat(inbound.channel, inbound.address, phone)
        staff = linked.staff
        if not linked.contacts and staff is None:
            log.info(
                "enrolment refused for %s", mask_phone(phone) if phone else "an invalid number"
            )
            await self.send(
                inbound, Message(text(TEXTS, "unknown_number", lang), remove_keyboard=True)
            )
            return Routed()
        if staff is not None:
            await self.send(
                inbound,
                Message(text(TEXTS, "linked_staff", lang, name=staff.name), remove_keyboard=True),
            )
            if self.staff_linked is not None:
                await self.staff_linked(staff)
        self.forget_contacts(inbound.channel, inbound.address)
        if linked.contacts:
            first = linked.contacts[0]
            lang = first.language
            await self.send(
                inbound,
                Message(
                    text(TEXTS, "linked", lang, addresses="、".join(linked.addresses)),
                    remove_keyboard=True,
                ),
                first,
            )
            log.info("chat linked to %d household(s)", len(linked.contacts))
            for contact in linked.contacts:
                await self._resume_or_summary(inbound, contact, quiet=True)
        return Routed()

    # ---- SMS -------------------------------------------------------------------------------
    async def _sms(self, inbound: Inbound, contacts: list[Contact]) -> Routed:
        body = inbound.text or ""
        keyword = classify_keyword(body)
        if not contacts:
            return self._unknown_sms(inbound)
        contact = await self._current(contacts)
        await self._heard_from(contact)
        lang = contact.language
        if keyword is Keyword.OPT_OUT:
            await opt_out("sms", inbound.address, self.clock.now())
            self.forget_contacts("sms", inbound.address)
            log.info("sms contact opted out (%s)", mask_phone(inbound.address))
            if not inbound.provider_opted_out:
                await self.send(
                    inbound, Message(text(TEXTS, "sms_stopped", lang)), None, tag="optout"
                )
            return Routed()
        if keyword is Keyword.OPT_IN:
            await opt_in("sms", inbound.address, self.clock.now())
            self.forget_contacts("sms", inbound.address)
            contact.status = "active"
            await self.send(inbound, Message(text(TEXTS, "sms_started", lang)), contact)
            await self.runtime.resume(contact)
            return Routed()
        if contact.status == "opted_out":
            return Routed()  # they asked for silence; only START changes that
        capped = not self.reply_cap.allowed(inbound.address, self.clock.monotonic())
        if keyword is Keyword.HELP:
            if await self._auto_reply(inbound, Message(text(TEXTS, "sms_help", lang)), contact):
                await self.runtime.resume(contact)
            return Routed()
        if await self._drive_reply(inbound, contact, body):
            return Routed()
        result = await self.runtime.handle_text(contact, body, quiet=capped)
        if result.refused and not capped:
            self._spend_auto_reply(inbound)
        if result.handled:
            return Routed()
        if capped:
            log.info(
                "sms from %s not answered: automatic replies capped", mask_phone(inbound.address)
            )
            return Routed()
        if await self._free_text(inbound, contact, body.strip()):
            self._spend_auto_reply(inbound)
        else:
            await self._auto_reply(inbound, Message(text(TEXTS, "nothing_open", lang)), contact)
        return Routed()

    async def _auto_reply(
        self, inbound: Inbound, message: Message, contact: Contact, *, tag: str = "reply"
    ) -> bool:
        """Answer an SMS that moved nothing on, unless the number's automatic replies are
        capped (two auto-responders must not ping-pong with us forever); True when sent."""
        if not self.reply_cap.allowed(inbound.address, self.clock.monotonic()):
            log.info(
                "sms from %s not answered: automatic replies capped", mask_phone(inbound.address)
            )
            return False
        await self.send(inbound, message, contact, tag=tag)
        self._spend_auto_reply(inbound)
        return True

    def _spend_auto_reply(self, inbound: Inbound) -> None:
        if self.reply_cap.spend(inbound.address, self.clock.monotonic()):
            log.warning(
                "automatic replies to %s reached the cap (%d in %.0f min): further messages from"
                " it are handled but not answered until the window moves on",
                mask_phone(inbound.address),
                self.reply_cap.limit,
                self.reply_cap.window / 60,
            )

    # ---- drive replies ---------------------------------------------------------------------
    async def _drive_reply(self, inbound: Inbound, contact: Contact, body: str) -> bool:
        """A household called down by a drive answers 1/2/3. While it has not, any other text
        gets the options again, unless it is in the middle of a survey (then the survey gets
        the text; 1/2/3 still go to the drive: the call-up is the newer, urgent question)."""
        drives = self.drives
        household_id: int = contact.household_id  # type: ignore[attr-defined]
        if drives is None or not await drives.awaiting(household_id):
            return False
        value = parse_reply(body)
        if value is not None:
            ack = await drives.reply(contact, value)
            if ack is not None:
                await self.send(inbound, ack, contact, tag="drive")
            return True
        if await self.runtime.active_response(household_id) is not None:
            return False
        if inbound.channel == "sms":
            await self._auto_reply(inbound, drives.options_again(contact), contact, tag="drive")
        else:
            await self.send(inbound, drives.options_again(contact), contact, tag="drive")
        return True

    async def _drive_button(
        self, inbound: Inbound, contact: Contact, values: tuple[int, ...] | None
    ) -> Routed:
        lang = contact.language
        if values is None:
            return Routed(toast=text(TEXTS, "unknown_command", lang))
        part_id, value = values
        if self.drives is None or value not in (1, 2, 3):
            return Routed(toast=text(TEXTS, "unknown_command", lang))
        ack = await self.drives.reply(contact, value, part_id=part_id)
        if ack is None:
            return Routed(toast=text(TEXTS, "unknown_command", lang))
        await self.send(inbound, ack, contact, tag="drive")
        return Routed(toast=ack.text[:190])

    def _unknown_sms(self, inbound: Inbound) -> Routed:
        now = self.clock.monotonic()
        last = self._unknown_replied.get(inbound.address)
        if last is not None and now - last < UNKNOWN_REPLY_EVERY:
            return Routed()
        if len(self._unknown_replied) > 10_000:
            self._unknown_replied.clear()
        self._unknown_replied[inbound.address] = now
        log.info("sms from an unregistered number %s", mask_phone(inbound.address))
        return Routed(direct_reply=text(TEXTS, "sms_unknown", self.settings.language))
