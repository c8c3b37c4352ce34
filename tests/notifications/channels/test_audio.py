"""Audio through the Telegram gateway (``extra["audio"]``): a voice note goes by its file_id
(sendVoice, the staff member's own note); a file of the media store (a resident's recording)
is uploaded (sendAudio); the message survives the outbox's JSON."""

from __future__ import annotations

from pathlib import Path

from telegram import Bot

from notifications.channels.telegram import TelegramChannel, download
from notifications.media import MediaStore, audio_of
from notifications.message import Message
from tests.fakes.telegram import FakeTelegram

TOKEN = "123:AUDIO"
MP3 = b"ID3\x04\x00" + bytes(range(200))


async def test_a_voice_note_goes_by_its_file_id_and_a_stored_file_is_uploaded(
    tmp_path: Path,
) -> None:
    store = MediaStore(tmp_path)
    name = store.add_file(MP3)
    async with FakeTelegram(token=TOKEN, strict_chats=False, enforce_limits=False) as tg:
        update = tg.make_voice_update(77, b"OggS-voice-note", caption="/notice 7")
        note = update["message"]["voice"]["file_id"]
        bot = Bot(TOKEN, base_url=f"{tg.url}/bot", base_file_url=f"{tg.url}/file/bot")
        async with bot:
            assert await download(bot, note) == b"OggS-voice-note"
            channel = TelegramChannel(bot, store)
            voice = Message("【居委会通知】", extra={"audio": {"name": name, "file_id": note}})
            await channel.send("4242", Message.from_json(voice.to_json()))
            await channel.send("4242", Message("7号楼1204室", extra={"audio": {"name": name}}))
        first, second = tg.sent_to(4242)
        assert first["voice"]["file_id"] == note and first["caption"] == "【居委会通知】"
        assert tg.files[second["audio"]["file_id"]].content == MP3
        assert second["caption"] == "7号楼1204室"
        assert [c.method for c in tg.calls if c.method.startswith("send")] == [
            "sendVoice",
            "sendAudio",
        ]


def test_audio_of_reads_only_what_it_knows() -> None:
    assert audio_of({"audio": {"name": "a.mp3", "file_id": "F", "x": 1}}) == {
        "name": "a.mp3",
        "file_id": "F",
    }
    assert audio_of({}) is None and audio_of(None) is None and audio_of({"audio": "x"}) is None
