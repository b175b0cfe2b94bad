"""parse_date and the page-date heuristics, with a fixed ``now`` so relative dates are deterministic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import lxml.html
import pytest

from crawlers.dates import (
    date_from_url,
    dates_from_metadata,
    dates_from_text,
    find_dates_in_html,
    is_relative,
    parse_date,
)

# 10:00 in Hanoi on Tuesday 24 November 2026.
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thứ hai, 24/11/2026, 08:30 (GMT+7)", utc(2026, 11, 24, 1, 30)),
        ("24/11/2026 08:30", utc(2026, 11, 24, 1, 30)),
        ("24-11-2026", utc(2026, 11, 23, 17, 0)),  # local midnight
        ("Cập nhật: 08:30 24/11/2026", utc(2026, 11, 24, 1, 30)),
        ("ngày 24 tháng 11 năm 2026", utc(2026, 11, 23, 17, 0)),
        ("Thứ Ba, ngày 24/11/2026 - 08:30", utc(2026, 11, 24, 1, 30)),
        ("08h30 ngày 24/11/2026", utc(2026, 11, 24, 1, 30)),
        ("lúc 9 giờ 15 phút ngày 24/11/2026", utc(2026, 11, 24, 2, 15)),
        ("24.11.2026 8h30", utc(2026, 11, 24, 1, 30)),
        ("24/11/26", utc(2026, 11, 23, 17, 0)),
        ("24/11/2026 8:30 PM", utc(2026, 11, 24, 13, 30)),
        ("24-11-2026 08:30 GMT+9", utc(2026, 11, 23, 23, 30)),
        ("14:05 20/11/2026 GMT+7", utc(2026, 11, 20, 7, 5)),
        ("11/24/2026", utc(2026, 11, 23, 17, 0)),  # day-first impossible -> month-first
        ("03/04/2026", utc(2026, 4, 2, 17, 0)),  # day-first: 3 April
        ("24/11 08:30", utc(2026, 11, 24, 1, 30)),  # forum style, current year
        ("Nov 24, 2026 8:30 AM", utc(2026, 11, 24, 1, 30)),
        ("24 November 2026", utc(2026, 11, 23, 17, 0)),
        ("2026-11-24T08:30:00+07:00", utc(2026, 11, 24, 1, 30)),
        ("2026-11-24T01:30:00Z", utc(2026, 11, 24, 1, 30)),
        ("2026-11-24T01:30:00.123456789Z", utc(2026, 11, 24, 1, 30, 0, 123456)),
        ("2026-11-24 08:30:00", utc(2026, 11, 24, 1, 30)),
        ("2026-11-24", utc(2026, 11, 23, 17, 0)),
        ("Tue, 24 Nov 2026 01:30:00 +0000", utc(2026, 11, 24, 1, 30)),
        ("Mon, 23 Nov 2026 18:30:00 GMT", utc(2026, 11, 23, 18, 30)),
    ],
)
def test_absolute_dates(text: str, expected: datetime) -> None:
    parsed = parse_date(text, now=NOW)
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "ago"),
    [
        ("2 giờ trước", timedelta(hours=2)),
        ("35 phút trước", timedelta(minutes=35)),
        ("3 ngày trước", timedelta(days=3)),
        ("1 tuần trước", timedelta(weeks=1)),
        ("hôm qua", timedelta(days=1)),
        ("vừa xong", timedelta(0)),
        ("Vừa mới", timedelta(0)),
        ("5 phut truoc", timedelta(minutes=5)),
        ("2 hours ago", timedelta(hours=2)),
        ("yesterday", timedelta(days=1)),
        ("just now", timedelta(0)),
    ],
)
def test_relative_dates(text: str, ago: timedelta) -> None:
    assert parse_date(text, now=NOW) == NOW - ago
    assert is_relative(text)


def test_relative_day_with_clock_time() -> None:
    assert parse_date("hôm qua lúc 08:30", now=NOW) == utc(2026, 11, 23, 1, 30)
    assert parse_date("08:30 hôm qua", now=NOW) == utc(2026, 11, 23, 1, 30)
    assert parse_date("3 tháng trước", now=NOW) == utc(2026, 8, 24, 3, 0)


def test_naive_times_use_the_source_timezone() -> None:
    assert parse_date("24/11/2026 08:30", timezone="UTC") == utc(2026, 11, 24, 8, 30)
    assert parse_date("24/11/2026 08:30", timezone="Asia/Tokyo") == utc(2026, 11, 23, 23, 30)


def test_naive_now_is_read_in_the_source_timezone() -> None:
    assert parse_date("1 giờ trước", now=datetime(2026, 11, 24, 10, 0)) == utc(2026, 11, 24, 2, 0)


@pytest.mark.parametrize(
    "text", ["", "   ", "không có ngày", "Bình luận (3)", "32/13/2026", "99:99", "x" * 400]
)
def test_unparseable_is_none(text: str) -> None:
    assert parse_date(text, now=NOW) is None


def test_unknown_timezone_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown timezone"):
        parse_date("24/11/2026", timezone="Mars/Olympus")


def test_absolute_is_not_relative() -> None:
    assert not is_relative("Thứ hai, 24/11/2026, 08:30 (GMT+7)")


def tree(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


def test_metadata_order_meta_then_jsonld_then_time() -> None:
    meta = tree(
        '<html><head><meta property="article:published_time" content="2026-11-20T07:00:00+07:00">'
        '<meta property="og:updated_time" content="2026-11-21T07:00:00+07:00">'
        "<script "
        'type="application/ld+json">{"@type":"NewsArticle","datePublished":"2026-01-01T00:00:00Z"}</script>'
        "</head><body><h1>T</h1></body></html>"
    )
    found = dates_from_metadata(meta, now=NOW)
    assert (found.published, found.updated, found.source) == (
        utc(2026, 11, 20, 0),
        utc(2026, 11, 21, 0),
        "meta",
    )

    jsonld = tree(
        '<html><head><script type="application/ld+json">{"@context":"https://schema.org","@graph":['
        '{"@type":"WebSite","name":"Báo"},'
        '{"@type":"NewsArticle","datePublished":"2026-11-22T09:15:00+07:00","dateModified":"2026-11-22T10:00:00+07:00"}'
        "]}</script></head><body></body></html>"
    )
    found = dates_from_metadata(jsonld, now=NOW)
    assert (found.published, found.updated, found.source) == (
        utc(2026, 11, 22, 2, 15),
        utc(2026, 11, 22, 3),
        "jsonld",
    )

    time_only = tree(
        '<html><body><h1>T</h1><time datetime="2026-11-23T06:00:00+07:00">hôm qua</time></body></html>'
    )
    assert dates_from_metadata(time_only, now=NOW).source == "time"


def test_broken_jsonld_is_skipped() -> None:
    page = tree(
        '<html><head><script type="application/ld+json">{"@type": "NewsArticle", datePublished: '
        "broken</script>"
        '<meta itemprop="datePublished" content="2026-11-20"></head><body></body></html>'
    )
    found = dates_from_metadata(page, now=NOW)
    assert found.published == utc(2026, 11, 19, 17) and found.source == "meta"


def test_visible_date_near_title_beats_comment_and_related_dates() -> None:
    page = tree(
        "<html><body>"
        '<div class="top-bar"><span class="header-date">Thứ ba, 24/11/2026</span></div>'
        "<h1>Tiêu đề bài viết</h1>"
        '<div class="meta"><span class="author">Minh Anh</span> <span class="time-post">20/11/2026 '
        "14:05</span></div>"
        "<p>Nội dung.</p>"
        '<div class="comments"><span class="comment-date">2 giờ trước</span></div>'
        '<ul class="related"><li>Tin khác <span class="date">21/11/2026</span></li></ul>'
        "</body></html>"
    )
    found = dates_from_text(page, now=NOW)
    assert found.published == utc(2026, 11, 20, 7, 5)
    assert found.source == "text"


def test_relative_date_text_and_update_label() -> None:
    page = tree(
        "<html><body><h1>Hỏi đường ngập ở Từ Sơn</h1>"
        '<div class="post-info"><span class="posted">2 giờ trước</span></div>'
        '<div class="edit-info">Cập nhật: 1 giờ trước</div>'
        "<p>Mọi người ơi đường Lý Thái Tổ còn ngập không?</p></body></html>"
    )
    found = dates_from_text(page, now=NOW)
    assert found.published == NOW - timedelta(hours=2)
    assert found.updated == NOW - timedelta(hours=1)
    assert found.source == "relative"


def test_headline_with_hom_nay_is_not_a_date() -> None:
    page = tree(
        "<html><body><h1>Bài viết</h1><p class='title-news'>Giá vàng hôm nay tăng mạnh phiên đầu tuần, "
        "nhà đầu tư đổ xô đi mua</p></body></html>"
    )
    assert dates_from_text(page, now=NOW).published is None


def test_future_dates_are_ignored() -> None:
    page = tree(
        '<html><head><meta property="article:published_time" content="2027-05-01T00:00:00Z"></head>'
        '<body><h1>T</h1><span class="date">20/11/2026</span></body></html>'
    )
    found = find_dates_in_html(page, now=NOW, use_htmldate=False)
    assert found.published == utc(2026, 11, 19, 17) and found.source == "text"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://baobacninh.vn/2026/11/20/mua-lon-gay-ngap.html", utc(2026, 11, 19, 17)),
        ("https://example.vn/xa-hoi/mua-lon-gay-ngap-20261120.html", utc(2026, 11, 19, 17)),
        ("https://example.vn/xa-hoi/mua-lon-gay-ngap-20261120094512345.htm", utc(2026, 11, 19, 17)),
        ("https://example.vn/news/2026-11-20/mua-lon", utc(2026, 11, 19, 17)),
        ("https://example.vn/xa-hoi/mua-lon-123456.html", None),
        ("https://example.vn/2026/13/45/x.html", None),
        (None, None),
    ],
)
def test_date_from_url(url: str | None, expected: datetime | None) -> None:
    assert date_from_url(url) == expected


def test_url_date_is_the_last_resort() -> None:
    page = tree(
        "<html><body><h1>Tiêu đề</h1><p>Không có ngày tháng nào trong trang này cả.</p></body></html>"
    )
    found = find_dates_in_html(page, "https://example.vn/2026/11/20/tieu-de.html", now=NOW)
    assert (found.published, found.source) == (utc(2026, 11, 19, 17), "url")
    assert find_dates_in_html(page, "https://example.vn/tieu-de.html", now=NOW).published is None


def test_update_label_alone_gives_both_dates() -> None:
    page = tree(
        "<html><body><h1>Thông báo</h1><div class='info'>Cập nhật: 08:30 24/11/2026</div>"
        "<p>Nội dung thông báo.</p></body></html>"
    )
    found = find_dates_in_html(page, now=NOW, use_htmldate=False)
    assert found.published == found.updated == utc(2026, 11, 24, 1, 30)
    assert found.source == "text"


def test_htmldate_is_the_fallback_for_dates_far_from_the_title() -> None:
    filler = "".join(f"<p>Đoạn văn số {i} của bài viết dài.</p>" for i in range(80))
    page = tree(
        f"<html><body><h1>Tiêu đề</h1>{filler}<p>Bài viết được đăng ngày 2026-11-18 bởi ban biên tập.</p>"
        "</body></html>"
    )
    found = find_dates_in_html(page, "https://example.vn/tieu-de.html", now=NOW)
    assert (found.published, found.source) == (utc(2026, 11, 17, 17), "htmldate")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Monday, November 23, 2026, 08:30 (GMT+7)", utc(2026, 11, 23, 1, 30)),
        ("23rd November 2026, 8:30 pm", utc(2026, 11, 23, 13, 30)),
        ("Sept. 3, 2026", utc(2026, 9, 2, 17, 0)),
    ],
)
def test_english_month_names_without_dateparser(text: str, expected: datetime, monkeypatch) -> None:
    import crawlers.dates

    monkeypatch.setattr(crawlers.dates, "_parse_with_dateparser", lambda *a: pytest.fail("dateparser used"))
    assert parse_date(text, now=NOW) == expected


def page_with(head: str = "", above: str = "", below: str = "") -> lxml.html.HtmlElement:
    """A page with ``head`` in <head>, ``above`` just above the <h1> and ``below`` just after it."""
    return tree(
        f"<html><head>{head}</head><body>"
        "<div class='top-bar'><a href='/'>Trang chủ</a> <a href='/a'>Thời sự</a> <a href='/b'>Kinh tế</a>"
        "<span class='clock'>Thứ hai, 23/11/2026 19:00</span></div>"
        "<ul class='menu'>" + "".join(f"<li><a href='/{i}'>Mục {i}</a></li>" for i in range(12)) + "</ul>"
        f"<div class='detail'>{above}<h1>Tiêu đề</h1>{below}"
        "<p>Nội dung bài viết đủ dài để không phải là một nhãn ngày tháng, nói về việc xây cầu mới.</p>"
        "</div></body></html>"
    )


STAMP = "<div class='detail-time'>22/11/2026 06:12 GMT+7</div>"
DATE_ONLY_BODY = "<p>Ngày 20/11/2026, tỉnh phê duyệt danh mục công trình.</p>"


def test_byline_stamp_above_the_title_beats_date_only_text_after_it() -> None:
    found = find_dates_in_html(page_with(above=STAMP, below=DATE_ONLY_BODY), now=NOW, use_htmldate=False)
    assert (found.published, found.source) == (utc(2026, 11, 21, 23, 12), "text")


def test_byline_stamp_beats_a_date_only_time_element() -> None:
    below = "<div class='box'><a href='/x'>Tin khác</a> <time datetime='2026-11-20'>20/11/2026</time></div>"
    found = find_dates_in_html(page_with(above=STAMP, below=below), now=NOW, use_htmldate=False)
    assert (found.published, found.source) == (utc(2026, 11, 21, 23, 12), "text")


def test_byline_stamp_at_the_bottom_beats_date_only_text_near_the_title() -> None:
    filler = "".join(f"<p>Đoạn {i}.</p>" for i in range(70))
    page = page_with(below=f"{DATE_ONLY_BODY}{filler}<span class='ngaydang'>15:20 | 23/11/2026</span>")
    found = find_dates_in_html(page, now=NOW, use_htmldate=False)
    assert (found.published, found.source) == (utc(2026, 11, 23, 8, 20), "text")


def test_header_clock_far_above_the_title_is_not_the_byline() -> None:
    found = find_dates_in_html(page_with(below="<span class='date'>20/11/2026</span>"), now=NOW, use_htmldate=False)
    assert found.published == utc(2026, 11, 19, 17)  # the byline's date, not the header's clock


@pytest.mark.parametrize(
    "head",
    [
        '<meta property="article:published_time" content="2026-11-22T06:12:00+00:00">'
        '<meta property="article:modified_time" content="2026-11-22T09:00:00+00:00">',
        '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2026-11-22T06:12:00Z",'
        ' "dateModified": "2026-11-22T09:00:00Z"}</script>',
    ],
)
def test_visible_offset_beats_a_contradicting_metadata_offset(head: str) -> None:
    found = find_dates_in_html(page_with(head=head, above=STAMP), now=NOW, use_htmldate=False)
    assert (found.published, found.source) == (utc(2026, 11, 21, 23, 12), "text")
    assert found.updated == utc(2026, 11, 22, 2)  # the same wrong offset, corrected the same way


def test_metadata_that_agrees_with_the_stamp_wins() -> None:
    head = '<meta property="article:published_time" content="2026-11-22T06:12:41+07:00">'
    found = find_dates_in_html(page_with(head=head, above=STAMP), now=NOW, use_htmldate=False)
    assert (found.published, found.source) == (utc(2026, 11, 21, 23, 12, 41), "meta")


def test_date_only_metadata_loses_to_the_stamp() -> None:
    head = '<meta itemprop="datePublished" content="2026-11-22">'
    found = find_dates_in_html(page_with(head=head, above=STAMP), now=NOW, use_htmldate=False)
    assert (found.published, found.source) == (utc(2026, 11, 21, 23, 12), "text")


def test_relative_or_date_only_text_never_overrides_metadata() -> None:
    head = '<meta property="article:published_time" content="2026-11-22T06:12:00+07:00">'
    for below in ("<span class='time'>2 giờ trước</span>", "<span class='date'>21/11/2026</span>"):
        found = find_dates_in_html(page_with(head=head, below=below), now=NOW, use_htmldate=False)
        assert (found.published, found.source) == (utc(2026, 11, 21, 23, 12), "meta")
