"""decode_html: declarations are evidence, not truth; Vietnamese legacy encodings come out right."""

from __future__ import annotations

import codecs
import unicodedata

import pytest

from crawlers.encoding import canonical_encoding, decode_html, http_charset, meta_charset, plausibility
from tests.site.text import encode_cp1258 as to_cp1258

VIETNAMESE = (
    "Mưa lớn kéo dài khiến nhiều tuyến đường ở Từ Sơn ngập sâu. Người dân phải di chuyển đồ đạc lên cao; "
    "chính quyền địa phương đã huy động lực lượng hỗ trợ. Ủy ban nhân dân tỉnh Bắc Ninh yêu cầu khắc phục "
    "hậu quả, bảo đảm an toàn cho học sinh trước kỳ nghỉ. Việt Nam, ngày 24 tháng 11."
)


def page(body: str, head: str = "", title: str = "Tin tức") -> str:
    return f"<html><head>{head}<title>{title}</title></head><body><p>{body}</p></body></html>"


def test_helper_really_produces_combining_tones() -> None:
    data = to_cp1258("Việt")
    assert data == b"Vi\xea\xf2t"  # ê + COMBINING DOT BELOW (0xF2), not a precomposed ệ
    assert data.decode("cp1258") == "Vi\u00ea\u0323t"
    assert unicodedata.normalize("NFC", data.decode("cp1258")) == "Việt"


@pytest.mark.parametrize(
    ("head", "content_type"),
    [
        ('<meta charset="utf-8">', None),
        ('<meta http-equiv="Content-Type" content="text/html; charset=UTF-8">', None),
        ("", "text/html; charset=utf-8"),
        ("", "text/html; charset=windows-1252"),
        ('<meta charset="iso-8859-1">', None),
        ("", "text/html; charset=ISO-8859-1"),
        ("", None),
    ],
)
def test_cp1258_page_mislabelled_is_decoded_as_cp1258(head: str, content_type: str | None) -> None:
    data = to_cp1258(page(VIETNAMESE, head))
    text, encoding = decode_html(data, content_type)
    assert encoding == "cp1258"
    assert VIETNAMESE in text
    assert "\ufffd" not in text
    assert unicodedata.is_normalized("NFC", text)


def test_utf8_vietnamese_wins_over_a_wrong_label() -> None:
    data = page(VIETNAMESE, '<meta charset="windows-1258">').encode("utf-8")
    text, encoding = decode_html(data, "text/html; charset=iso-8859-1")
    assert encoding == "utf-8"
    assert VIETNAMESE in text


def test_utf8_decomposed_input_is_normalised_to_nfc() -> None:
    data = page(unicodedata.normalize("NFD", VIETNAMESE)).encode("utf-8")
    text, encoding = decode_html(data)
    assert encoding == "utf-8"
    assert VIETNAMESE in text


def test_utf8_cut_mid_character_by_a_size_cap_is_still_utf8() -> None:
    data = page(VIETNAMESE).encode("utf-8")
    cut = data[: data.index("Ủy".encode()) + 1]  # first byte of a two-byte sequence
    text, encoding = decode_html(cut, "text/html; charset=utf-8")
    assert encoding == "utf-8"
    assert "\ufffd" not in text
    assert "khắc phục" not in text and "Người dân" in text


def test_byte_order_marks() -> None:
    html = page(VIETNAMESE)
    assert decode_html(codecs.BOM_UTF8 + html.encode("utf-8"), "text/html; charset=iso-8859-1") == (
        html,
        "utf-8",
    )
    text, encoding = decode_html(html.encode("utf-16"))
    assert text == html and encoding.startswith("utf-16")


def test_utf16_without_bom_is_recognised() -> None:
    html = page(VIETNAMESE)
    assert decode_html(html.encode("utf-16-le")) == (html, "utf-16-le")


@pytest.mark.parametrize("content_type", ["text/html; charset=iso-8859-1", None])
def test_plain_english_latin1(content_type: str | None) -> None:
    english = "The café on Rue Saint-Honoré served crème brûlée; Müller’s naïve façade — “déjà vu”."
    data = page(english, title="News").encode("cp1252")
    text, encoding = decode_html(data, content_type)
    assert encoding == "cp1252"
    assert english in text


def test_portuguese_windows_1252_is_not_mistaken_for_cp1258() -> None:
    portuguese = "São João recebeu as ações e as informações da organização em Março."
    text, encoding = decode_html(
        page(portuguese, '<meta charset="windows-1252">', "Notícias").encode("cp1252")
    )
    assert encoding == "cp1252"
    assert portuguese in text


def test_gbk_declared_page_keeps_its_script() -> None:
    chinese = "越南北宁省暴雨导致多条街道被淹，当地政府已组织力量救援。"
    text, encoding = decode_html(page(chinese, '<meta charset="gbk">', "新闻").encode("gbk"))
    assert chinese in text
    assert encoding == "gbk"


def test_pure_ascii_uses_the_declaration() -> None:
    assert decode_html(b"<p>hello</p>", "text/html; charset=windows-1258") == ("<p>hello</p>", "cp1258")
    assert decode_html(b"<p>hello</p>") == ("<p>hello</p>", "utf-8")


def test_binary_junk_and_empty_input_do_not_raise() -> None:
    import random

    junk = random.Random(7).randbytes(50_000)
    text, encoding = decode_html(junk, "text/html; charset=utf-8")
    assert isinstance(text, str) and encoding
    assert decode_html(b"") == ("", "utf-8")
    with pytest.raises(TypeError):
        decode_html("already text")  # type: ignore[arg-type]


def test_label_helpers() -> None:
    assert canonical_encoding("windows-1258") == "cp1258"
    assert canonical_encoding("ISO-8859-1") == "cp1252"  # as browsers do
    assert canonical_encoding("no-such-charset") is None
    assert http_charset('text/html; charset="UTF-8"') == "utf-8"
    assert http_charset("text/html") is None
    assert (
        meta_charset(b'<meta http-equiv="content-type" content="text/html; charset=windows-1258">')
        == "cp1258"
    )
    assert meta_charset(b'<?xml version="1.0" encoding="ISO-8859-1"?><html>') == "cp1252"
    assert meta_charset(b'<meta charset="utf-16">') == "utf-8"


def test_plausibility_prefers_the_right_decoding() -> None:
    data = to_cp1258(VIETNAMESE)
    right = unicodedata.normalize("NFC", data.decode("cp1258"))
    wrong = unicodedata.normalize("NFC", data.decode("cp1252", errors="replace"))
    garbled_utf8 = VIETNAMESE.encode("utf-8").decode("cp1252", errors="replace")
    assert plausibility(right) > plausibility(wrong)
    assert plausibility(VIETNAMESE) > plausibility(garbled_utf8)
