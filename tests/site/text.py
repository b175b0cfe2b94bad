"""Vietnamese text helpers: slugs, dates as Vietnamese sites print them, number formats, cp1258."""

from __future__ import annotations

import html
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7), "ICT")

WEEKDAYS_VI = ("Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật")
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)

# Tone marks that windows-1258 writes as separate combining characters.
_TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def esc(text: str) -> str:
    """HTML-escape text for element content and attribute values."""
    return html.escape(text, quote=True)


def strip_diacritics(text: str) -> str:
    """'Từ Sơn đẹp' -> 'Tu Son dep' (what forum users type without a Vietnamese keyboard)."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def slugify(text: str) -> str:
    """ASCII URL slug as Vietnamese CMSs make them: 'Lũ lụt ở Từ Sơn' -> 'lu-lut-o-tu-son'."""
    out: list[str] = []
    for ch in strip_diacritics(text).lower():
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif out and out[-1] != "-":
            out.append("-")
    return "".join(out).strip("-")


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(VN_TZ)


def vi_date_line(moment: datetime) -> str:
    """'Thứ hai, 23/11/2026, 08:30 (GMT+7)' in Vietnam local time."""
    local = to_local(moment)
    return f"{WEEKDAYS_VI[local.weekday()]}, {local:%d/%m/%Y}, {local:%H:%M} (GMT+7)"


def vi_today_line(moment: datetime) -> str:
    """'Thứ ba, 24/11/2026' for the header bar."""
    local = to_local(moment)
    return f"{WEEKDAYS_VI[local.weekday()]}, {local:%d/%m/%Y}"


def en_date_line(moment: datetime) -> str:
    """'Monday, November 23, 2026, 08:30 (GMT+7)' in Vietnam local time."""
    local = to_local(moment)
    return (
        f"{WEEKDAYS_EN[local.weekday()]}, {MONTHS_EN[local.month - 1]} {local.day}, {local.year}, "
        f"{local:%H:%M} (GMT+7)"
    )


def short_time(moment: datetime) -> str:
    """'23/11/2026 08:30' as used in listings and comments."""
    return f"{to_local(moment):%d/%m/%Y %H:%M}"


def relative_vi(delta: timedelta) -> str:
    """'35 phút trước' / '2 giờ trước' for deltas of whole minutes (< 1 h) or whole hours."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} phút trước"
    return f"{minutes // 60} giờ trước"


def iso_local(moment: datetime) -> str:
    """'2026-11-23T08:30:00+07:00'."""
    return to_local(moment).replace(microsecond=0).isoformat()


def local_midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=VN_TZ).astimezone(UTC)


def vi_int(n: int) -> str:
    """Vietnamese thousands separator: 12345 -> '12.345'."""
    return f"{n:,}".replace(",", ".")


def vi_dec(x: float) -> str:
    """Vietnamese decimal comma: 12.5 -> '12,5'."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text.replace(".", ",")


def encode_cp1258(text: str) -> bytes:
    """Encode Vietnamese text to windows-1258 the way Windows does it.

    cp1258 has the base letters (ă â ê ô ơ ư đ, some accented Latin-1 letters) precomposed but most
    tone marks only as combining characters, so each letter is split into its base (with vowel
    modifiers recombined) followed by its tone mark. Raises UnicodeEncodeError for anything else.
    """
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        tones = [m for m in parts[1:] if m in _TONE_MARKS]
        base = unicodedata.normalize("NFC", parts[0] + "".join(m for m in parts[1:] if m not in _TONE_MARKS))
        out += base.encode("cp1258") + "".join(tones).encode("cp1258")
    return bytes(out)


def decode_cp1258(data: bytes) -> str:
    """Inverse of encode_cp1258, returning NFC text."""
    return unicodedata.normalize("NFC", data.decode("cp1258"))
