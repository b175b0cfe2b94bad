"""extract_article on realistic pages, plus the ``mediawatch extract`` command."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawlers.extract import Article, block_text, extract_article, find_lead, parse_html, strip_noise
from mediawatch.errors import UserError
from tests.site.text import encode_cp1258 as to_cp1258

NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
URL = "https://baobacninh.example.vn/xa-hoi/mua-lon-gay-ngap-nhieu-tuyen-pho-o-tu-son-123456.html"

BODY_PARAGRAPHS = [
    "Theo ghi nhận của phóng viên, từ khoảng 4 giờ sáng nay, mưa lớn kèm dông đã trút xuống địa bàn thành "
    "phố Từ Sơn. Đến 7 giờ, nhiều tuyến đường như Lý Thái Tổ, Trần Phú và Minh Khai bị ngập sâu từ "
    "30 đến 50 cm.",
    "Hàng trăm phương tiện bị chết máy giữa dòng nước, người dân phải dắt bộ xe máy qua các đoạn "
    "ngập. Nhiều hộ "
    "kinh doanh ven đường phải kê cao hàng hóa để tránh thiệt hại do nước tràn vào nhà.",
    "Ông Nguyễn Văn Hùng, Chủ tịch UBND phường Đông Ngàn, cho biết lực lượng chức năng đã được huy "
    "động để phân "
    "luồng giao thông và khơi thông cống rãnh tại các điểm ngập úng cục bộ.",
    "Theo Đài Khí tượng Thủy văn tỉnh Bắc Ninh, mưa lớn có thể còn kéo dài đến hết ngày mai với "
    "tổng lượng mưa "
    "phổ biến từ 80 đến 150 mm, có nơi trên 200 mm. Người dân được khuyến cáo hạn chế di chuyển qua "
    "các khu vực "
    "trũng thấp.",
    "Ủy ban nhân dân thành phố Từ Sơn đã yêu cầu các phường rà soát hệ thống thoát nước, chuẩn bị máy bơm dự "
    "phòng và sẵn sàng phương án hỗ trợ các hộ dân bị ảnh hưởng.",
]
SAPO = (
    "Mưa lớn kéo dài từ đêm qua khiến nhiều tuyến phố ở thành phố Từ Sơn ngập sâu, giao thông ùn "
    "tắc trong giờ cao điểm sáng."
)
BOILERPLATE = [
    "Trang chủ", "Thể thao", "Đăng nhập", "Tin liên quan", "Bắc Ninh chủ động phòng chống lụt bão",
    "Đường nhà tôi ngập đến đầu gối", "Năm nào cũng ngập", "Viết bình luận", "Gửi bình luận",
    "Đọc nhiều nhất", "Giá vàng hôm nay", "Quảng cáo", "Giấy phép số", "Bản quyền thuộc về", "Chia sẻ",
    "Từ khóa",
]  # fmt: skip

META_DATES = """
<meta property="article:published_time" content="2026-11-24T08:30:00+07:00">
<meta property="article:modified_time" content="2026-11-24T10:15:00+07:00">
<script type="application/ld+json">
{"@context": "https://schema.org", "@type": "NewsArticle",
 "headline": "Mưa lớn gây ngập nhiều tuyến phố ở Từ Sơn",
 "datePublished": "2026-11-24T08:30:00+07:00", "dateModified": "2026-11-24T10:15:00+07:00",
 "author": {"@type": "Person", "name": "Nguyễn Minh Anh"}, "articleSection": "Xã hội"}
</script>"""
VISIBLE_DATE = '<div class="article-meta"><span class="date">Thứ hai, 24/11/2026, 08:30 (GMT+7)</span></div>'


def vietnamese_page(
    meta_dates: str = META_DATES,
    visible_date: str = VISIBLE_DATE,
    charset: str = "utf-8",
    extra_head: str = "",
    before_footer: str = "",
) -> str:
    paragraphs = "\n".join(f"        <p>{p}</p>" for p in BODY_PARAGRAPHS)
    return f"""<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="{charset}">
<title>Mưa lớn gây ngập nhiều tuyến phố ở Từ Sơn - Báo Bắc Ninh</title>
<meta name="description" content="Mưa lớn kéo dài từ đêm qua khiến nhiều tuyến phố ở Từ Sơn ngập sâu.">
<meta property="og:title" content="Mưa lớn gây ngập nhiều tuyến phố ở Từ Sơn">
<meta property="article:section" content="Xã hội">
<meta name="author" content="Nguyễn Minh Anh">
{meta_dates}
<link rel="canonical" href="/xa-hoi/mua-lon-gay-ngap-nhieu-tuyen-pho-o-tu-son-123456.html">
<script>window.dataLayer = window.dataLayer || []; function gtag(){{dataLayer.push(arguments);}}</script>
<style>.menu{{display:flex}} .ads{{min-height:250px}}</style>
{extra_head}
</head>
<body>
<header class="site-header">
  <div class="top-bar">Hotline: 0222 3822 xxx | Đăng nhập | Đăng ký</div>
  <nav class="main-menu"><ul>
    <li><a href="/">Trang chủ</a></li><li><a href="/thoi-su">Thời sự</a></li><li>
    <a href="/kinh-te">Kinh tế</a></li>
    <li><a href="/xa-hoi">Xã hội</a></li><li><a href="/the-thao">Thể thao</a></li><li>
    <a href="/van-hoa">Văn hóa</a></li>
  </ul></nav>
</header>
<div class="container">
  <ul class="breadcrumb"><li><a href="/">Trang chủ</a></li><li><a href="/xa-hoi">Xã hội</a></li></ul>
  <main class="main-content">
    <article class="article-detail">
      <h1 class="article-title">Mưa lớn gây ngập nhiều tuyến phố ở Từ Sơn</h1>
      {visible_date}
      <p class="sapo"><strong>{SAPO}</strong></p>
      <div class="article-body">
{paragraphs}
        <p class="author"><strong>Minh Anh</strong></p>
      </div>
      <div class="tags">Từ khóa: <a href="/tag/mua-lon">mưa lớn</a>, <a href="/tag/ngap-ung">ngập
      úng</a></div>
      <div class="share-box">Chia sẻ: <a href="#">Facebook</a> <a href="#">Zalo</a></div>
    </article>
    <section class="related-news">
      <h3>Tin liên quan</h3>
      <ul>
        <li><a href="/xa-hoi/phong-chong-lu-bao-111.html">
              Bắc Ninh chủ động phòng chống lụt bão mùa mưa năm nay</a>
            <span class="time">20/11/2026</span></li>
        <li><a href="/xa-hoi/thoat-nuoc-112.html">
              Nâng cấp hệ thống thoát nước đô thị tại các phường trung tâm</a></li>
      </ul>
    </section>
    <section class="comments" id="binh-luan">
      <h3>Bình luận (2)</h3>
      <div class="comment-item"><b>Trần Hoa</b> <span class="comment-time">2 giờ trước</span>
        <p>Đường nhà tôi ngập đến đầu gối, mong chính quyền sớm xử lý dứt điểm tình trạng này.</p></div>
      <div class="comment-item"><b>Lê Nam</b> <span class="comment-time">1 giờ trước</span>
        <p>Năm nào cũng ngập mà chưa thấy cải thiện gì cả, cống thoát nước quá nhỏ.</p></div>
      <form class="comment-form"><textarea>Viết bình luận của bạn...</textarea>
      <button>Gửi bình luận</button></form>
    </section>
  </main>
  <aside class="sidebar">
    <div class="box-most-read"><h3>Đọc nhiều nhất</h3><ol>
      <li><a href="/kinh-te/gia-vang-113.html">Giá vàng hôm nay tăng mạnh phiên đầu tuần</a></li>
      <li>
      <a href="/the-thao/bong-da-114.html">Câu lạc bộ bóng đá Bắc Ninh giành chiến thắng thuyết phục</a></li>
    </ol></div>
    <div class="ads">Quảng cáo</div>
  </aside>
</div>
{before_footer}
<footer class="site-footer">
  <p>Báo Bắc Ninh - Cơ quan của Đảng bộ tỉnh Bắc Ninh. Giấy phép số 123/GP-BTTTT.</p>
  <p>Địa chỉ: Số 11 đường Phù Đổng Thiên Vương, TP Bắc Ninh. © 2026 Bản quyền thuộc về Báo Bắc Ninh.</p>
</footer>
<script src="/static/app.js"></script>
</body>
</html>
"""




def assert_clean_article_text(text: str) -> None:
    for paragraph in BODY_PARAGRAPHS:
        assert paragraph in text
    for junk in BOILERPLATE:
        assert junk not in text, junk


# --- the Vietnamese news page -----------------------------------------------------------------------


def test_vietnamese_news_page() -> None:
    article = extract_article(vietnamese_page().encode("utf-8"), URL, now=NOW)
    assert_clean_article_text(article.text)
    assert article.text.startswith(SAPO)  # the standfirst belongs to the article
    assert article.text.split("\n\n") == [SAPO, *BODY_PARAGRAPHS]
    assert unicodedata.is_normalized("NFC", article.text)
    assert article.title == "Mưa lớn gây ngập nhiều tuyến phố ở Từ Sơn"
    assert article.published == datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
    assert article.updated == datetime(2026, 11, 24, 3, 15, tzinfo=UTC)
    assert article.date_source == "meta"
    assert article.author == "Nguyễn Minh Anh"
    assert article.section == "Xã hội"
    assert article.language == "vi"
    assert article.canonical_url == URL
    assert article.description is not None and article.description.startswith("Mưa lớn kéo dài")
    assert article.encoding == "utf-8"


def test_to_dict_is_json_ready() -> None:
    article = extract_article(vietnamese_page(), URL, now=NOW)
    data = json.loads(json.dumps(article.to_dict()))
    assert data["published"] == "2026-11-24T01:30:00+00:00"
    assert data["updated"] == "2026-11-24T03:15:00+00:00"
    assert set(data) == {
        "title", "text", "published", "updated", "author", "section", "language", "canonical_url",
        "description", "encoding", "date_source",
    }  # fmt: skip
    assert data["encoding"] is None  # str input: nothing was decoded


def test_visible_date_when_there_is_no_metadata() -> None:
    article = extract_article(vietnamese_page(meta_dates=""), URL, now=NOW)
    assert article.published == datetime(2026, 11, 24, 1, 30, tzinfo=UTC)
    assert article.date_source == "text"
    assert_clean_article_text(article.text)


def test_date_only_in_url() -> None:
    html = vietnamese_page(meta_dates="", visible_date="")
    article = extract_article(html, "https://baobacninh.example.vn/2026/11/20/mua-lon-gay-ngap.html", now=NOW)
    assert article.published == datetime(2026, 11, 19, 17, 0, tzinfo=UTC)  # local midnight, 20 Nov
    assert article.date_source == "url"
    # neither the related-news date nor the comment times are taken for the article's date
    assert (
        extract_article(html, "https://baobacninh.example.vn/xa-hoi/mua-lon.html", now=NOW).published is None
    )


def test_cp1258_page_mislabelled_as_utf8() -> None:
    data = to_cp1258(vietnamese_page(charset="utf-8"))
    assert b"\xf2" in data  # COMBINING DOT BELOW in windows-1258: this really is not UTF-8
    article = extract_article(data, URL, content_type="text/html; charset=utf-8", now=NOW)
    assert article.encoding == "cp1258"
    assert "\ufffd" not in article.text
    assert_clean_article_text(article.text)
    assert article.title == "Mưa lớn gây ngập nhiều tuyến phố ở Từ Sơn"
    assert article.language == "vi"


def test_cp1258_page_labelled_windows_1252() -> None:
    data = to_cp1258(vietnamese_page(charset="windows-1252"))
    article = extract_article(data, URL, now=NOW)
    assert article.encoding == "cp1258"
    assert_clean_article_text(article.text)


def test_decomposed_unicode_input_comes_out_nfc() -> None:
    article = extract_article(unicodedata.normalize("NFD", vietnamese_page()), URL, now=NOW)
    assert_clean_article_text(article.text)
    assert article.title == "Mưa lớn gây ngập nhiều tuyến phố ở Từ Sơn"


# --- other kinds of pages ---------------------------------------------------------------------------

ENGLISH_PAGE = """<!doctype html><html><head><meta charset="utf-8">
<title>Floods close roads in Bac Ninh | Provincial News</title></head>
<body>
<nav><a href="/">Home</a> <a href="/business">Business</a> <a href="/sports">Sports</a>
<a href="/login">Sign in</a></nav>
<article>
  <h1>Floods close roads in Bac Ninh as heavy rain continues</h1>
  <div class="byline">By <span class="author-name">John Carter</span> · <span
  class="publish-date">Nov 24, 2026 8:30 AM</span></div>
  <p>Heavy rain that began overnight flooded dozens of streets in Tu Son city, leaving hundreds of motorbikes
  stranded and forcing shop owners to move goods to higher shelves before the morning rush hour.</p>
  <p>Local officials said drainage crews had been deployed to clear blocked sewers, while traffic police
  redirected vehicles away from the worst-hit sections of Ly Thai To and Tran Phu streets.</p>
  <p>The provincial weather station expects rainfall of 80 to 150 millimetres through Wednesday and warned
  residents to avoid low-lying areas and to stay away from swollen irrigation canals.</p>
</article>
<div id="comments"><h3>Reader comments</h3>
<p>Terrible drainage every single year, nothing ever changes.</p></div>
<footer>Copyright 2026 Provincial News. All rights reserved. Privacy policy.</footer>
</body></html>"""


def test_english_page() -> None:
    article = extract_article(ENGLISH_PAGE.encode(), "https://news.example.com/floods-bac-ninh", now=NOW)
    assert article.language == "en"
    assert article.title is not None and article.title.startswith("Floods close roads in Bac Ninh")
    assert "drainage crews had been deployed" in article.text
    assert "Terrible drainage" not in article.text
    assert "Sign in" not in article.text and "Copyright" not in article.text
    assert article.published == datetime(
        2026, 11, 24, 1, 30, tzinfo=UTC
    )  # naive 8:30 AM in the source timezone
    assert article.date_source == "text"
    assert extract_article(ENGLISH_PAGE, timezone="Europe/London", now=NOW).published == datetime(
        2026, 11, 24, 8, 30, tzinfo=UTC
    )


FORUM_PAGE = """<html><head><title>Đường Lý Thái Tổ còn ngập không mọi người? - Diễn đàn Từ Sơn</title></head>
<body><div class="navbar"><a href="/">Diễn đàn</a> › <a href="/f/hoi-dap">Hỏi đáp</a></div>
<div class="thread"><h1>Đường Lý Thái Tổ còn ngập không mọi người?</h1>
<div class="post-meta"><span class="username">bachkhoa_tuson</span>
<span class="post-time">35 phút trước</span></div>
<div class="post-content">
<p>Sáng nay mình đi làm qua đường Lý Thái Tổ thấy nước ngập gần đến yên xe, phải quay đầu
đi đường khác. Có ai vừa đi qua đoạn gần chợ Đông Ngàn cho mình hỏi nước đã rút chưa với, chiều nay mình phải
chở con đi học thêm mà không biết có qua được không. Cảm ơn mọi người nhiều.</p></div></div>
<div class="replies"><div class="reply"><span class="reply-time">10 phút trước</span>
<p>Vẫn còn ngập bạn ơi.</p></div></div>
</body></html>"""


def test_forum_post_with_relative_date() -> None:
    article = extract_article(FORUM_PAGE.encode(), "https://forum.example.vn/t/duong-ly-thai-to.123", now=NOW)
    assert article.published == NOW - timedelta(minutes=35)
    assert article.date_source == "relative"
    assert "nước ngập gần đến yên xe" in article.text
    assert article.language == "vi"


UNACCENTED_POST = (
    "Nguoi dan o Tu Son lo lang vi nuoc lu dang cao, ko biet bao gio moi rut duoc. "
    "Nha minh o gan cho Dong Ngan, nuoc ngap qua nen ko di dc dau ca, mn oi co ai biet duong nao di "
    "duoc khong?"
)


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        (" ".join(BODY_PARAGRAPHS), None, "vi"),
        (UNACCENTED_POST, None, "vi"),
        ("Nguoi dan o Tu Son lo lang vi nuoc lu dang cao, ko biet bao gio moi rut duoc", None, "vi"),
        ("The provincial People's Committee announced new flood prevention measures on Tuesday.", None, "en"),
        (
            "Officials in Từ Sơn said the flood in Bắc Ninh province receded on Tuesday after heavy rain.",
            None,
            "en",
        ),
        ("Le gouvernement a annoncé de nouvelles mesures contre les inondations dans le nord.", None, "fr"),
        ("UBND tỉnh", None, "vi"),
        ("ok", "vi-VN", "vi"),
        ("ok", None, "unknown"),
        ("", "vi", "unknown"),
        ("12345 678", None, "unknown"),
    ],
)
def test_detect_language(text: str, hint: str | None, expected: str) -> None:
    from enrich.language import detect_language

    assert detect_language(text, hint=hint) == expected


def test_unaccented_vietnamese_page_is_vietnamese() -> None:
    html = (
        f"<html><body><h1>Hoi duong ngap</h1><div class='post'><p>{UNACCENTED_POST}</p></div></body></html>"
    )
    article = extract_article(html, now=NOW)
    assert "ko di dc dau ca" in article.text
    assert article.language == "vi"


def test_broken_html_does_not_raise() -> None:
    broken = (
        "<html><head><title>Tin nóng</title><meta charset=utf-8><body><div class=article><h1>Cháy "
        "chợ Đông Ngàn</h1>"
        "<p>Rạng sáng nay một đám cháy lớn đã bùng phát tại khu vực chợ Đông Ngàn, thành phố Từ "
        "Sơn, thiêu rụi "
        "nhiều ki-ốt bán hàng. Lực lượng cứu hỏa đã có mặt kịp thời để khống chế ngọn lửa và sơ tán "
        "người dân."
        "<p>Nguyên nhân vụ cháy đang được cơ quan chức năng điều tra làm rõ.</div></span></table><<>>"
        "<div><p>Không đóng thẻ <b>đậm <i>nghiêng</div><script>var x = '</div>"
    )
    for html in (
        broken,
        broken.encode("utf-8"),
        broken[: len(broken) // 2],
        "<p>chỉ một đoạn</p>",
        "<<<>>>&&&;;",
    ):
        article = extract_article(html, now=NOW)
        assert isinstance(article, Article)
    article = extract_article(broken, now=NOW)
    assert "đám cháy lớn" in article.text
    assert article.title == "Cháy chợ Đông Ngàn"  # trafilatura prefers a lone <h1> to <title>
    # an unclosed <title> swallows the page (as in browsers); the title must still be sane
    swallowed = extract_article(broken.replace("</title>", ""), now=NOW)
    assert swallowed.title is None or "<" not in swallowed.title


@pytest.mark.parametrize(
    "empty", [b"", "", "   \n\t ", b"\x00\x00\x00", "<html></html>", "<!-- only a comment -->"]
)
def test_empty_input_gives_an_empty_article(empty: str | bytes) -> None:
    article = extract_article(empty, now=NOW)
    assert article.text == ""
    assert article.language == "unknown"


def test_binary_junk_gives_empty_text() -> None:
    junk = random.Random(1234).randbytes(200_000)
    assert extract_article(junk, "https://example.vn/x.jpg", now=NOW).text == ""
    png = b"\x89PNG\r\n\x1a\n" + random.Random(5).randbytes(5000)
    assert extract_article(png, content_type="image/png", now=NOW) == Article()


def test_unusable_input_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        extract_article(12345)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        extract_article(None)  # type: ignore[arg-type]


def test_five_megabyte_page_with_huge_script_and_hidden_junk() -> None:
    script = (
        "<script>window.__STATE__ = {"
        + ",".join(f'"k{i}": "<p>Khong phai bai viet {i}</p>"' for i in range(90_000))
        + "};</script>"
    )
    hidden = (
        '<div style="display: none">'
        + "".join(
            f"<p>Nội dung ẩn số {i}, lặp đi lặp lại để làm trang nặng thêm, không phải bài viết chính.</p>"
            for i in range(7_000)
        )
        + "</div><div hidden>"
        + "Chữ ẩn bằng thuộc tính hidden. " * 20_000
        + "</div>"
    )
    data = vietnamese_page(extra_head=script, before_footer=hidden).encode("utf-8")
    assert len(data) > 5_000_000
    article = extract_article(data, URL, now=NOW)
    assert_clean_article_text(article.text)
    assert "Nội dung ẩn" not in article.text and "Chữ ẩn" not in article.text
    assert "Khong phai bai viet" not in article.text
    assert article.published == datetime(2026, 11, 24, 1, 30, tzinfo=UTC)


def test_strip_noise_keeps_jsonld_and_handles_unclosed_script() -> None:
    html = (
        '<p>a</p><script type="application/ld+json">{"x": 1}</script><!-- <p>gone</p> -->'
        "<SCRIPT>if (a < b) { document.write('</p>') }</SCRIPT><style>p{}</style><p>b</p><script>never closed"
    )
    assert strip_noise(html) == '<p>a</p><script type="application/ld+json">{"x": 1}</script><p>b</p>'


def test_parse_html_drops_hidden_elements() -> None:
    tree = parse_html(
        '<html><body><p>Hiện</p><div style="DISPLAY: None">ẩn 1</div><p hidden>ẩn 2</p>'
        '<span aria-hidden="true">ẩn 3</span><div style="color:red; visibility : hidden">ẩn 4</div>'
        "</body></html>"
    )
    assert tree is not None
    assert " ".join(tree.text_content().split()) == "Hiện"


def test_strip_noise_ends_comments_where_html_does() -> None:
    html = "<p>a</p><!--><p>b</p><!---><p>c</p><!-- x --!><p>d</p><!----><p>e</p><!-- never closed <p>f</p>"
    tree = parse_html(strip_noise(html))
    assert tree is not None
    assert [p.text for p in tree.iter("p")] == ["a", "b", "c", "d", "e"]  # what lxml and browsers show


PROSE = "Đoạn văn bị thu gọn sau nút Xem thêm, vẫn là nội dung bài viết mà bạn đọc mở ra bằng một cú bấm."


def _visible_text(html: str) -> str:
    tree = parse_html(html)
    assert tree is not None
    return block_text(tree.find(".//body")) or ""


@pytest.mark.parametrize(
    ("fold", "kept"),
    [
        (f"<div class='more' hidden><p>{PROSE}</p></div>", True),
        (f"<div style='display: none' aria-hidden='true'><p>{PROSE}</p><p>{PROSE[::-1]}</p></div>", True),
        (f"<p style='DISPLAY:NONE'>{PROSE}</p>", True),
        ("<div hidden><b>Xem thêm:</b> <a href='/a'>Một bài viết liên quan khác của tòa soạn</a>; "
         "<a href='/b'>Và thêm một bài liên quan nữa</a></div>", False),  # a link list, not text
        ("<div hidden><p>Khối ẩn ngắn.</p></div>", False),
        (f"<p hidden>{'Đoạn văn thứ nhất của bài viết, đủ dài để là một đoạn văn thật sự trong bài.'}</p>",
         False),  # repeats the visible paragraph beside it
    ],
)
def test_hidden_fold_among_paragraphs_is_shown(fold: str, kept: bool) -> None:
    first = "Đoạn văn thứ nhất của bài viết, đủ dài để là một đoạn văn thật sự trong bài."
    text = _visible_text(f"<html><body><h1>Tiêu đề</h1><div class='content'><p>{first}</p>{fold}</div></body></html>")
    assert text.startswith(f"Tiêu đề {first}")
    assert (PROSE in text) == kept


def test_hidden_prose_outside_the_paragraphs_is_dropped() -> None:
    text = _visible_text(
        f"<html><body><h1>Tiêu đề</h1><div class='content'><p>Một đoạn văn.</p></div>"
        f"<div style='display:none'><p>{PROSE}</p></div></body></html>"
    )
    assert PROSE not in text


def test_hidden_wrapper_of_the_headline_is_shown() -> None:
    page = (
        "<html><body class='modal-open'><div class='page-wrapper' aria-hidden='true'><h1>Tiêu đề bài</h1>"
        f"<div class='content'><p>{PROSE}</p></div></div>"
        "<div class='modal' role='dialog'>Đăng ký nhận bản tin</div></body></html>"
    )
    assert _visible_text(page) == f"Tiêu đề bài {PROSE} Đăng ký nhận bản tin"
    # without a headline, the <article> or <main> it wraps tells the page apart from hidden junk
    for landmark in ("article", "main"):
        no_h1 = (
            f"<html><body><div class='page-wrapper' aria-hidden='true'><{landmark}><p>{PROSE}</p></{landmark}>"
            "</div><div class='modal' role='dialog'>Đăng ký nhận bản tin</div></body></html>"
        )
        assert _visible_text(no_h1) == f"{PROSE} Đăng ký nhận bản tin", landmark
    # with a visible headline elsewhere, a hidden block holding another <h1> is just hidden
    visible = page.replace("<body class='modal-open'>", "<body><h1>Tiêu đề thật</h1>")
    assert _visible_text(visible) == "Tiêu đề thật Đăng ký nhận bản tin"


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("<p class='sapo'><strong>HÀ GIANG</strong>Ngày 24/11, mưa lớn.</p>", "HÀ GIANG – Ngày 24/11, mưa lớn."),
        ("<div class='sapo'><div class='dateline'>Hà Giang</div>Ngày 24/11, mưa lớn.</div>",
         "Hà Giang – Ngày 24/11, mưa lớn."),
        ("<div class='sapo'><div class='dateline'>Hà Giang</div>\n  Ngày 24/11, mưa lớn.</div>",
         "Hà Giang – Ngày 24/11, mưa lớn."),
        ("<p class='description'><span class='location-stamp'>Hà Giang</span>Lũ quét.</p>", "Hà Giang – Lũ quét."),
        ("<p><strong>HÀ GIANG -</strong>Ngày 24/11.</p>", "HÀ GIANG - Ngày 24/11."),
        ("<p><strong>HÀ GIANG</strong> - Ngày 24/11.</p>", "HÀ GIANG - Ngày 24/11."),
        ("<p><b>PV:</b>Thưa ông, dự án bao giờ xong?</p>", "PV: Thưa ông, dự án bao giờ xong?"),
        ("<p><b>Ông Nguyễn Văn Nam</b>cho biết thêm.</p>", "Ông Nguyễn Văn Nam cho biết thêm."),
        ("<p><span class='dropcap'>N</span>gày 24/11, mưa lớn.</p>", "Ngày 24/11, mưa lớn."),  # a drop cap
        ("<p><b>Ng</b>ày 24/11.</p>", "Ngày 24/11."),  # part of a word
        ("<p><strong>24/11</strong>Mưa lớn.</p>", "24/11Mưa lớn."),  # digits: not a dateline
    ],
)
def test_datelines_are_set_off_from_the_lead(markup: str, text: str) -> None:
    tree = parse_html(f"<html><body><h1>Tiêu đề</h1>{markup}</body></html>")
    assert tree is not None
    assert block_text(tree.find(".//body")) == f"Tiêu đề {text}"


def test_lead_with_block_children_is_not_glued() -> None:
    tree = parse_html(
        "<html><body><h1>Tiêu đề</h1><div class='sapo'><p>Câu đầu của phần tóm tắt.</p>"
        "<p>Câu thứ hai của phần tóm tắt.</p></div><p>Thân bài.</p></body></html>"
    )
    assert tree is not None
    assert find_lead(tree) == "Câu đầu của phần tóm tắt. Câu thứ hai của phần tóm tắt."


def test_utf16_page_without_bom_is_not_mistaken_for_binary() -> None:
    article = extract_article(vietnamese_page().encode("utf-16-le"), URL, now=NOW)
    assert article.encoding == "utf-16-le"
    assert_clean_article_text(article.text)


# --- selector overrides -----------------------------------------------------------------------------

SELECTOR_PAGE = """<html><head><title>Cổng thông tin điện tử phường Đông Ngàn</title></head><body>
<div class="hd">
<a href="/">Trang chủ</a> | <a href="/tin-tuc">Tin tức</a> | <a href="/van-ban">Văn bản</a></div>
<table class="layout"><tr><td class="left">Liên kết website: Bộ Nội vụ, UBND tỉnh</td>
<td class="content">
  <div class="td-title">Thông báo lịch cắt điện ngày 26/11</div>
  <div class="cat">Thông báo</div>
  <div class="ngay-dang">Ngày đăng: 23/11/2026 16:45</div>
  <div class="noi-dung">
    Điện lực Từ Sơn thông báo tạm ngừng cung cấp điện để bảo dưỡng đường dây.<br>
    Thời gian: từ 7h00 đến 17h00 ngày 26/11/2026.<br>
    Khu vực: các khu phố Tam Sơn, Dương Lôi và Đình Bảng.
  </div>
  <div class="nguoi-viet">Người viết: Phòng Văn hóa</div>
</td></tr></table>
<div class="ft">Bản quyền thuộc UBND phường Đông Ngàn</div></body></html>"""
SELECTORS = {
    "title": ".td-title",
    "text": ".noi-dung",
    "published": ".ngay-dang",
    "author": ".nguoi-viet",
    "section": ".cat",
}


def test_selector_overrides() -> None:
    article = extract_article(
        SELECTOR_PAGE, "https://dongngan.example.gov.vn/tin/123", selectors=SELECTORS, now=NOW
    )
    assert article.title == "Thông báo lịch cắt điện ngày 26/11"
    assert article.text == (
        "Điện lực Từ Sơn thông báo tạm ngừng cung cấp điện để bảo dưỡng đường dây.\n\n"
        "Thời gian: từ 7h00 đến 17h00 ngày 26/11/2026.\n\n"
        "Khu vực: các khu phố Tam Sơn, Dương Lôi và Đình Bảng."
    )
    assert article.published == datetime(2026, 11, 23, 9, 45, tzinfo=UTC)
    assert article.date_source == "selector"
    assert article.author == "Phòng Văn hóa"  # the "Người viết:" label is dropped
    assert article.section == "Thông báo"


def test_selectors_that_match_nothing_fall_back() -> None:
    selectors = {
        "title": ".no-such-title",
        "text": "#nothing-here",
        "published": "time.nope",
        "author": "[[[",
    }
    article = extract_article(vietnamese_page(), URL, selectors=selectors, now=NOW)
    assert article.title == "Mưa lớn gây ngập nhiều tuyến phố ở Từ Sơn"
    assert_clean_article_text(article.text)
    assert article.date_source == "meta"
    assert article.author == "Nguyễn Minh Anh"


def test_selector_on_the_vietnamese_page() -> None:
    article = extract_article(
        vietnamese_page(meta_dates=""),
        URL,
        selectors={"text": ".article-body p:not(.author)", "author": "p.author"},
        now=NOW,
    )
    assert article.text.split("\n\n") == BODY_PARAGRAPHS
    assert article.author == "Minh Anh"
    assert article.date_source == "text"


# --- the CLI ----------------------------------------------------------------------------------------


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIAWATCH_")}
    env["PYTHONIOENCODING"] = "utf-8"
    env["MEDIAWATCH_CRAWL__ALLOW_PRIVATE_HOSTS"] = "127.0.0.1"  # the pages are served on loopback
    return subprocess.run(
        [sys.executable, "-m", "mediawatch", *args],
        cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=120,
    )  # fmt: skip


def test_cli_extract_json(tmp_path: Path) -> None:
    page = tmp_path / "bai-viet.html"
    page.write_bytes(to_cp1258(vietnamese_page(charset="utf-8")))
    result = run_cli("extract", str(page), "--json", "--url", URL, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["title"] == "Mưa lớn gây ngập nhiều tuyến phố ở Từ Sơn"
    assert data["published"] == "2026-11-24T01:30:00+00:00"
    assert data["encoding"] == "cp1258"
    assert data["language"] == "vi"
    assert data["canonical_url"] == URL
    assert data["word_count"] == len(data["text"].split()) > 100
    assert BODY_PARAGRAPHS[2] in data["text"]


def test_cli_extract_panel(tmp_path: Path) -> None:
    page = tmp_path / "bai-viet.html"
    page.write_text(vietnamese_page(), encoding="utf-8")
    result = run_cli("extract", str(page), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Mưa lớn gây ngập" in result.stdout and "date source" in result.stdout


def test_cli_missing_file_is_one_error_line(tmp_path: Path) -> None:
    result = run_cli("extract", str(tmp_path / "khong-co.html"), "--json", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no such file" in lines[0] and "khong-co.html" in lines[0]


# --- fetching a URL (a real local HTTP server) -------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    seen_user_agents: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        _Handler.seen_user_agents.append(self.headers.get("User-Agent", ""))
        if self.path == "/bai-viet":
            body = to_cp1258(vietnamese_page(charset="utf-8"))
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404, "Not Found")

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture()
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _fetch_settings(**crawl: object):
    from mediawatch.config import Settings

    return Settings(crawl={"allow_private_hosts": ["127.0.0.1"], **crawl})


def test_fetch_page_and_extract(http_server: str) -> None:
    from mediawatch.cli.extract import fetch_page

    body, content_type, final_url = fetch_page(
        f"{http_server}/bai-viet", settings=_fetch_settings(user_agent="mediawatch-test/1.0", timeout=10)
    )
    assert content_type == "text/html; charset=utf-8"
    assert final_url == f"{http_server}/bai-viet"
    assert "mediawatch-test/1.0" in _Handler.seen_user_agents
    article = extract_article(body, final_url, content_type=content_type, now=NOW)
    assert article.encoding == "cp1258"
    assert_clean_article_text(article.text)

    small, _, _ = fetch_page(f"{http_server}/bai-viet", settings=_fetch_settings(max_page_bytes=1000))
    assert len(small) == 1000


def test_fetch_page_errors_are_user_errors(http_server: str) -> None:
    from mediawatch.cli.extract import fetch_page

    with pytest.raises(UserError, match="HTTP 404"):
        fetch_page(f"{http_server}/missing", settings=_fetch_settings())
    with pytest.raises(UserError, match="cannot fetch"):
        fetch_page("http://127.0.0.1:9/", settings=_fetch_settings(timeout=5))


def test_cli_http_error_is_one_line(http_server: str, tmp_path: Path) -> None:
    result = run_cli("extract", f"{http_server}/missing", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and "HTTP 404" in result.stderr
