"""Forums as they are in the wild: every engine's fixture pages read by crawlers.forums.

The fixtures under tests/fixtures/forums/<engine>/ tell one story in each engine's markup: a thread of five
posts on two pages (post 3 quotes post 1, post 5 quotes post 2, post 4 only says thanks), members' join
dates before the posts, a footer with the server clock and the stated offset (GMT +7), and section
listings on two pages. "Now" is 2024-03-12 16:30 at +07:00; the source's zone is given as UTC so that
relative stamps ("Hôm nay, 16:21", "Yesterday, 10:15 PM") can only come out right in the stated offset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawlers.forums import (
    ENGINES,
    GENERIC,
    detect_engine,
    discourse_json_url,
    parse_post_time,
    parse_section_page,
    parse_thread_page,
    preset,
    request_url,
    stated_offset,
    thread_identity,
)
from crawlers.identity import canonical_url

FIXTURES = Path(__file__).parent / "fixtures" / "forums"
NOW = datetime(2024, 3, 12, 9, 30, tzinfo=UTC)  # 16:30 at +07:00
TITLE = "Ngập lụt ở Từ Sơn sau mưa lớn"
P1 = "Mưa lớn từ đêm qua làm nhiều tuyến phố ở Từ Sơn ngập sâu, đoạn đường Lý Thái Tổ nước lên gần nửa bánh xe."
P2 = "Khu Đồng Kỵ cũng ngập, chiều nay mình phải dắt xe qua chỗ chợ."
P3 = "Cảm ơn bác đã báo, sáng nay mình đi đường vòng qua Tân Hồng cho an toàn."
P5 = "Trường mình cho học sinh nghỉ buổi chiều vì sân trường vẫn còn ngập."
AUTHORS = ["dinhbang_9x", "tuanbn88", "MeBongBin_TS", "HoangAnh.KB", "co_giao_thao"]
TIMES = [
    datetime(2024, 3, 10, 1, 5, tzinfo=UTC),  # 10/03 08:05 +7 (absolute)
    datetime(2024, 3, 10, 14, 40, tzinfo=UTC),  # 10/03 21:40 +7 (absolute)
    datetime(2024, 3, 11, 1, 5, tzinfo=UTC),  # "Hôm qua, 08:05" / "Yesterday, 08:05 AM"
    datetime(2024, 3, 11, 15, 15, tzinfo=UTC),  # "Hôm qua, 22:15" / "Yesterday, 10:15 PM"
    datetime(2024, 3, 12, 9, 21, tzinfo=UTC),  # "Hôm nay, 16:21" / "Today, 04:21 PM"
]


@dataclass(frozen=True)
class Forum:
    engine: str
    thread: str  # the thread's identity
    page_urls: tuple[str, str]  # where thread-1.html and thread-2.html were served
    anchors: tuple[str, ...]  # the five posts' anchors
    section_urls: tuple[str, str]  # where section.html and section-2.html were served
    threads: tuple[str, ...]  # thread identities listed on section.html, in order
    last_section_thread: str
    thanks: str = "cảm ơn bạn"

    def read(self, name: str) -> bytes:
        return (FIXTURES / self.engine / name).read_bytes()


XF1 = "https://xf1.kinhbac.example/threads/"
XF2 = "https://xf2.kinhbac.example/threads/"
VB3 = "https://vb3.kinhbac.example/showthread.php?t="
VB4 = "https://vb4.kinhbac.example/threads/"
VB5 = "https://vb5.kinhbac.example/forum/thoi-su/"
PHPBB = "https://phpbb.kinhbac.example/viewtopic.php?t="
FORUMS = [
    Forum(
        "xenforo1",
        f"{XF1}ngap-lut-o-tu-son-sau-mua-lon.1234/",
        (f"{XF1}ngap-lut-o-tu-son-sau-mua-lon.1234/", f"{XF1}ngap-lut-o-tu-son-sau-mua-lon.1234/page-2"),
        tuple(f"post-5000{i}" for i in range(1, 6)),
        ("https://xf1.kinhbac.example/forums/thoi-su.5/", "https://xf1.kinhbac.example/forums/thoi-su.5/page-2"),
        (f"{XF1}noi-quy-box-thoi-su.1001/", f"{XF1}ngap-lut-o-tu-son-sau-mua-lon.1234/",
         f"{XF1}duong-ly-thai-to-sua-mai-chua-xong.1230/"),
        f"{XF1}kinh-nghiem-di-hoi-lim.1101/",
    ),
    Forum(
        "xenforo2",
        f"{XF2}ngap-lut-o-tu-son-sau-mua-lon.2345/",
        (f"{XF2}ngap-lut-o-tu-son-sau-mua-lon.2345/", f"{XF2}ngap-lut-o-tu-son-sau-mua-lon.2345/page-2"),
        tuple(f"post-6000{i}" for i in range(1, 6)),
        ("https://xf2.kinhbac.example/forums/thoi-su.5/", "https://xf2.kinhbac.example/forums/thoi-su.5/page-2"),
        (f"{XF2}noi-quy-box-thoi-su.1001/", f"{XF2}ngap-lut-o-tu-son-sau-mua-lon.2345/",
         f"{XF2}duong-ly-thai-to-sua-mai-chua-xong.2330/"),
        f"{XF2}kinh-nghiem-di-hoi-lim.2101/",
    ),
    Forum(
        "vbulletin3",
        f"{VB3}3456",
        (f"{VB3}3456", "https://vb3.kinhbac.example/showthread.php?t=3456&page=2"),
        tuple(f"post7000{i}" for i in range(1, 6)),
        ("https://vb3.kinhbac.example/forumdisplay.php?f=12", "https://vb3.kinhbac.example/forumdisplay.php?f=12&page=2"),
        (f"{VB3}3001", f"{VB3}3456", f"{VB3}3440"),
        f"{VB3}3101",
    ),
    Forum(
        "vbulletin4",
        f"{VB4}4567-Ngap-lut-o-Tu-Son-sau-mua-lon",
        (f"{VB4}4567-Ngap-lut-o-Tu-Son-sau-mua-lon", f"{VB4}4567-Ngap-lut-o-Tu-Son-sau-mua-lon/page2"),
        tuple(f"post8000{i}" for i in range(1, 6)),
        ("https://vb4.kinhbac.example/forums/12-Thoi-su", "https://vb4.kinhbac.example/forums/12-Thoi-su/page2"),
        (f"{VB4}4001-Noi-quy-box-Thoi-su", f"{VB4}4567-Ngap-lut-o-Tu-Son-sau-mua-lon",
         f"{VB4}4550-Duong-Ly-Thai-To-sua-mai-chua-xong"),
        f"{VB4}4101-Kinh-nghiem-di-hoi-Lim",
        thanks="thanks",
    ),
    Forum(
        "vbulletin5",
        f"{VB5}5678-ngap-lut-o-tu-son-sau-mua-lon",
        (f"{VB5}5678-ngap-lut-o-tu-son-sau-mua-lon", f"{VB5}5678-ngap-lut-o-tu-son-sau-mua-lon/page2"),
        ("post5678", "post5680", "post5683", "post5690", "post5702"),
        ("https://vb5.kinhbac.example/forum/thoi-su", "https://vb5.kinhbac.example/forum/thoi-su/page2"),
        (f"{VB5}5001-noi-quy-box-thoi-su", f"{VB5}5678-ngap-lut-o-tu-son-sau-mua-lon",
         f"{VB5}5650-duong-ly-thai-to-sua-mai-chua-xong"),
        f"{VB5}5101-kinh-nghiem-di-hoi-lim",
    ),
    Forum(
        "phpbb3",
        f"{PHPBB}678",
        (f"{PHPBB}678", "https://phpbb.kinhbac.example/viewtopic.php?t=678&start=3"),
        tuple(f"p900{i}" for i in range(1, 6)),
        ("https://phpbb.kinhbac.example/viewforum.php?f=2", "https://phpbb.kinhbac.example/viewforum.php?f=2&start=25"),
        (f"{PHPBB}601", f"{PHPBB}678", f"{PHPBB}670"),
        f"{PHPBB}610",
    ),
]
BY_ENGINE = {f.engine: f for f in FORUMS}


def both_pages(forum: Forum, **kwargs):
    return [
        parse_thread_page(forum.read(name), url, now=NOW, timezone="UTC", **kwargs)
        for name, url in zip(("thread-1.html", "thread-2.html"), forum.page_urls, strict=True)
    ]


# --- HTML engines -------------------------------------------------------------------------------------


@pytest.mark.parametrize("forum", FORUMS, ids=lambda f: f.engine)
def test_engine_is_detected_on_every_page(forum: Forum) -> None:
    for name, url in (("thread-1.html", forum.page_urls[0]), ("thread-2.html", forum.page_urls[1]),
                      ("section.html", forum.section_urls[0]), ("section-2.html", forum.section_urls[1])):  # fmt: skip
        assert detect_engine(forum.read(name), url) == forum.engine, name
        assert detect_engine(forum.read(name).decode("utf-8")) == forum.engine, name  # str, no URL


@pytest.mark.parametrize("forum", FORUMS, ids=lambda f: f.engine)
def test_posts_ids_authors_positions_and_texts_without_quotes(forum: Forum) -> None:
    first, second = both_pages(forum)
    posts = first.posts + second.posts
    assert [p.id for p in posts] == list(forum.anchors)
    assert [p.url for p in posts] == [f"{forum.thread}#{a}" for a in forum.anchors]
    assert [p.author for p in posts] == AUTHORS
    assert [p.position for p in posts] == [1, 2, 3, 4, 5]
    assert posts[0].text == P1 + "\nCác bác đi lại chú ý nhé."
    assert posts[1].text == P2
    assert posts[2].text.startswith(P3) and P1 not in posts[2].text  # the quote of post 1 is gone
    assert posts[3].text == forum.thanks
    assert posts[4].text == P5  # the quote of post 2 is gone
    for page in (first, second):
        assert page.engine == forum.engine and page.title == TITLE and page.thread_url == forum.thread
        assert page.utc_offset == "+07:00"
    assert (first.page, second.page) == (1, 2)


@pytest.mark.parametrize("forum", FORUMS, ids=lambda f: f.engine)
def test_post_times_are_their_own_in_the_stated_offset(forum: Forum) -> None:
    """Relative stamps come out right although the source's zone is UTC: the page says GMT +7. Join dates
    (some "Hôm qua"/"Yesterday", written before the post) and the footer's clock are never taken."""
    posts = [p for page in both_pages(forum) for p in page.posts]
    assert [p.published for p in posts] == TIMES


@pytest.mark.parametrize("forum", FORUMS, ids=lambda f: f.engine)
def test_next_page_links(forum: Forum) -> None:
    first, second = both_pages(forum)
    assert first.next_url == canonical_url(forum.page_urls[1])
    assert second.next_url is None  # the last page links back to page 1 only


@pytest.mark.parametrize("forum", FORUMS, ids=lambda f: f.engine)
def test_section_pages_list_canonical_threads_once(forum: Forum) -> None:
    """Sticky threads, page-jump links (page 2 of a thread), prefix labels and session ids in links
    all come down to one identity per thread."""
    page = parse_section_page(forum.read("section.html"), forum.section_urls[0])
    assert page.engine == forum.engine
    assert page.thread_urls == list(forum.threads)
    assert page.next_url == canonical_url(forum.section_urls[1])
    last = parse_section_page(forum.read("section-2.html"), forum.section_urls[1])
    assert last.thread_urls == [forum.last_section_thread] and last.next_url is None


@pytest.mark.parametrize("forum", FORUMS, ids=lambda f: f.engine)
def test_explicit_engine_gives_the_same_posts_and_another_engine_none(forum: Forum) -> None:
    auto = both_pages(forum)
    forced = both_pages(forum, engine=forum.engine)
    assert [p.posts for p in forced] == [p.posts for p in auto]
    other = "phpbb3" if forum.engine != "phpbb3" else "xenforo2"
    assert parse_thread_page(forum.read("thread-1.html"), forum.page_urls[0], engine=other, now=NOW).posts == []


def test_thread_identity_over_every_pagination_form() -> None:
    cases = {
        "https://f.vn/threads/ngap-lut.123/page-3": ("https://f.vn/threads/ngap-lut.123/", 3),
        "https://f.vn/threads/ngap-lut.123/post-456": ("https://f.vn/threads/ngap-lut.123/", 1),
        "https://F.vn/threads/ngap-lut.123/?utm_source=fb": ("https://f.vn/threads/ngap-lut.123/", 1),
        "https://f.vn/index.php?threads/ngap-lut.123/page-2": ("https://f.vn/index.php?threads/ngap-lut.123/", 2),
        "https://f.vn/dien-dan/t/ngap-lut.2201/page-4": ("https://f.vn/dien-dan/t/ngap-lut.2201/", 4),
        "https://f.vn/thread.php?id=9&page=5": ("https://f.vn/thread.php?id=9", 5),
        "https://f.vn/thread.php?page=5&id=9": ("https://f.vn/thread.php?id=9", 5),
        "https://f.vn/showthread.php?t=123&page=4": ("https://f.vn/showthread.php?t=123", 4),
        "https://f.vn/showthread.php?s=abc0123&t=123&page=4&highlight=x": ("https://f.vn/showthread.php?t=123", 4),
        "https://f.vn/showthread.php?p=99#post99": ("https://f.vn/showthread.php?p=99", 1),
        "https://f.vn/showthread.php?123-ngap-lut/page2": ("https://f.vn/showthread.php?123-ngap-lut=", 2),
        "https://f.vn/showthread.php?123-ngap-lut": ("https://f.vn/showthread.php?123-ngap-lut=", 1),
        "https://f.vn/threads/123-ngap-lut/page4": ("https://f.vn/threads/123-ngap-lut", 4),
        "https://f.vn/threads/123-ngap-lut?p=456#post456": ("https://f.vn/threads/123-ngap-lut?p=456", 1),
        "https://f.vn/forum/thoi-su/xe/123-ngap-lut/page4": ("https://f.vn/forum/thoi-su/xe/123-ngap-lut", 4),
        "https://f.vn/f12/ngap-lut-123/index4.html": ("https://f.vn/f12/ngap-lut-123/", 4),
        "https://f.vn/viewtopic.php?f=2&t=123&start=40": ("https://f.vn/viewtopic.php?t=123", 5),
        "https://f.vn/viewtopic.php?t=123&sid=0a1b2c&hilit=ngap&view=unread": ("https://f.vn/viewtopic.php?t=123", 1),
        "https://f.vn/viewtopic.php?p=1234#p1234": ("https://f.vn/viewtopic.php?p=1234", 1),
        "https://f.vn/viewforum.php?f=2&start=25": ("https://f.vn/viewforum.php?f=2", 2),
        "https://f.vn/t/ngap-lut/123": ("https://f.vn/t/ngap-lut/123", 1),
        "https://f.vn/t/ngap-lut/123/45": ("https://f.vn/t/ngap-lut/123", 1),
        "https://f.vn/t/ngap-lut/123.json?page=2": ("https://f.vn/t/ngap-lut/123", 2),
        "https://f.vn/t/ngap-lut/123?page=3&u=someone": ("https://f.vn/t/ngap-lut/123", 3),
    }  # fmt: skip
    for url, expected in cases.items():
        assert thread_identity(url) == expected, url
    assert thread_identity("https://f.vn/t/123", "discourse") == ("https://f.vn/t/123", 1)


def test_thread_url_from_the_page_when_the_url_names_only_a_post() -> None:
    """phpBB's ``viewtopic.php?p=9001`` (a post link) is read as the thread ``viewtopic.php?t=678``."""
    forum = BY_ENGINE["phpbb3"]
    page = parse_thread_page(forum.read("thread-1.html"), "https://phpbb.kinhbac.example/viewtopic.php?p=9001", now=NOW)
    assert page.thread_url == forum.thread
    assert page.posts[0].url == f"{forum.thread}#p9001"


def test_phpbb_30_text_stamps_session_ids_and_start() -> None:
    """phpBB 3.0: the stamp is text after "»" ("Hôm qua, 20:10"), the offset "Múi giờ: UTC + 7 giờ",
    links carry f= and sid=; the page is "Trang 2 trên 2" at start=10, so positions are 11 and 12."""
    url = "https://phpbb.kinhbac.example/viewtopic.php?f=2&t=690&start=10&sid=5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
    page = parse_thread_page((FIXTURES / "phpbb3" / "thread-30.html").read_bytes(), url, now=NOW, timezone="UTC")
    assert (page.engine, page.thread_url, page.page, page.title) == (
        "phpbb3", "https://phpbb.kinhbac.example/viewtopic.php?t=690", 2, "Mất điện cả khu Đình Bảng")  # fmt: skip
    assert page.utc_offset == "+07:00" and page.next_url is None
    assert [(p.id, p.author, p.position) for p in page.posts] == [
        ("p9101", "xeom_tuson", 11), ("p9102", "quanho_lover", 12)]  # fmt: skip
    assert [p.published for p in page.posts] == [
        datetime(2024, 3, 11, 13, 10, tzinfo=UTC), datetime(2024, 3, 11, 23, 45, tzinfo=UTC)]  # fmt: skip
    assert page.posts[1].text == "Sáng nay đã có điện lại rồi các bác ạ."


def test_vbulletin3_code_boxes_stay_quotes_go() -> None:
    page = both_pages(BY_ENGINE["vbulletin3"])[0]
    assert page.posts[2].text == P3 + "\nMã:\nTân Hồng -> Đình Bảng -> QL1A"


def test_vbulletin4_and_xenforo1_bodies_are_blockquotes_and_keep_their_text() -> None:
    """Both engines wrap the post body itself in a <blockquote>: dropping "every blockquote" (as the
    spider's post_text does) would leave these posts empty."""
    for engine in ("vbulletin4", "xenforo1"):
        posts = both_pages(BY_ENGINE[engine])[0].posts
        assert all(p.text for p in posts), engine


# --- times ---------------------------------------------------------------------------------------------


def test_stated_offset_phrases() -> None:
    assert stated_offset("Múi giờ GMT +7. Bây giờ là 16:25.") == timedelta(hours=7)
    assert stated_offset("All times are GMT +7. The time now is 04:25 PM.") == timedelta(hours=7)
    assert stated_offset("All times are GMT -5. The time now is 05:25 AM.") == timedelta(hours=-5)
    assert stated_offset("Múi giờ UTC+07:00") == timedelta(hours=7)
    assert stated_offset("Múi giờ: UTC + 7 giờ") == timedelta(hours=7)
    assert stated_offset("Tất cả thời gian theo múi giờ GMT+7. Trang này được tạo lúc 16:25.") == timedelta(hours=7)
    assert stated_offset("All times are GMT. The time now is 09:25 AM.") == timedelta(0)
    assert stated_offset("Múi giờ GMT +5:30") == timedelta(hours=5, minutes=30)
    assert stated_offset("Hẹn gặp lúc 7 giờ, GMT+7 nhé") is None  # no label: a post's words, not a setting


def test_relative_stamps_follow_the_offset_the_page_states() -> None:
    """The same vBulletin 4 page stating GMT +9 instead of +7 moves "Today, 04:21 PM" two hours earlier."""
    forum = BY_ENGINE["vbulletin4"]
    html = forum.read("thread-2.html").decode("utf-8").replace("All times are GMT +7.", "All times are GMT +9.")
    page = parse_thread_page(html, forum.page_urls[1], now=NOW, timezone="Asia/Ho_Chi_Minh")
    assert page.utc_offset == "+09:00"
    assert [p.published for p in page.posts] == [TIMES[3] - timedelta(hours=2), TIMES[4] - timedelta(hours=2)]
    unstated = html.replace("All times are GMT +9.", "")
    in_source_zone = parse_thread_page(unstated, forum.page_urls[1], now=NOW, timezone="Asia/Ho_Chi_Minh")
    assert in_source_zone.utc_offset is None and [p.published for p in in_source_zone.posts] == TIMES[3:]


def test_parse_post_time_refuses_join_dates_and_server_clocks() -> None:
    def one(text: str) -> datetime | None:
        return parse_post_time([text], timezone="Etc/GMT-7", now=NOW)

    assert one("Hôm nay, 16:21") == TIMES[4]
    assert one("Today, 04:21 PM") == TIMES[4]
    assert one("Hôm qua, 08:05") == TIMES[2]
    assert one("Yesterday, 08:05 AM") == TIMES[2]
    assert one("1710235260") == TIMES[4]  # XenForo's data-time
    assert one("bởi abc » Hôm qua, 22:15") == TIMES[3]
    for text in (
        "Tham gia ngày: 05-2015", "Ngày tham gia: 12/05/2015, 10:00", "Join Date: May 2015", "Joined: Hôm qua",
        "Múi giờ GMT +7. Bây giờ là 16:25.", "All times are GMT +7. The time now is 04:25 PM.",
        "Thời gian hiện tại: 12-03-2024, 16:25", "It is currently Tue Mar 12, 2024 4:25 pm",
        "Sửa lần cuối bởi mod_kinhbac; Hôm nay lúc 16:00",
    ):  # fmt: skip
        assert one(text) is None, text
    assert parse_post_time(["Ngày mai, 16:21", "13/03/2024 16:21"], timezone="UTC", now=NOW) is None  # future


def test_a_sloppy_time_selector_still_never_takes_the_join_date() -> None:
    """An override that also matches the member info block (vBulletin 3's "Tham gia ngày: 05-2015")."""
    forum = BY_ENGINE["vbulletin3"]
    sloppy = {"time": "div.smallfont"}
    page = parse_thread_page(forum.read("thread-1.html"), forum.page_urls[0], selectors=sloppy, now=NOW)
    assert [p.published for p in page.posts] == [None, None, None]


def test_member_info_time_elements_are_skipped() -> None:
    """A themed board that prints the join date with <time datetime> before the post's own <time>."""
    html = """<html><body><article class="message" id="post-7" data-author="lang_tu">
      <div class="message-user"><dl><dt>Tham gia</dt>
        <dd><time datetime="2015-05-12T10:00:00+07:00">12/5/15</time></dd></dl></div>
      <header><time datetime="2024-03-12T16:21:00+07:00">Hôm nay lúc 16:21</time></header>
      <div class="message-body">Nước rút rồi các bác.</div></article>
      <footer><time datetime="2024-03-12T16:25:00+07:00">Bây giờ là 16:25</time></footer></body></html>"""
    page = parse_thread_page(html, "https://f.vn/t/x.1/", now=NOW)
    assert page.engine == GENERIC
    assert [(p.id, p.author, p.published, p.text) for p in page.posts] == [
        ("post-7", "lang_tu", TIMES[4], "Nước rút rồi các bác.")
    ]


# --- presets and overrides ------------------------------------------------------------------------------


def test_every_engine_has_a_preset_and_unknown_names_are_refused() -> None:
    for engine in (*ENGINES, GENERIC):
        assert preset(engine).post
    with pytest.raises(ValueError, match="unknown forum engine 'mybb'"):
        preset("mybb")
    with pytest.raises(ValueError, match="unknown forum selector field"):
        preset("xenforo2", {"signature": ".sig"})
    with pytest.raises(ValueError, match="unknown forum engine"):
        parse_thread_page("<html></html>", "https://f.vn/", engine="mybb")


def test_custom_selectors_override_the_preset_field_by_field() -> None:
    forum = BY_ENGINE["xenforo2"]
    page = parse_thread_page(
        forum.read("thread-1.html"), forum.page_urls[0], now=NOW,
        selectors={"author": ".message-userTitle", "post_id": "data-content"},
    )  # fmt: skip
    assert [p.author for p in page.posts] == ["Thành viên tích cực", "Thành viên", "Thành viên mới"]
    assert [p.id for p in page.posts] == ["post-60001", "post-60002", "post-60003"]
    assert [p.published for p in page.posts] == TIMES[:3]  # the rest still comes from the preset
    css_id = parse_thread_page(forum.read("thread-1.html"), forum.page_urls[0], selectors={"post_id": "::attr(id)"})
    assert [p.id for p in css_id.posts] == ["js-post-60001", "js-post-60002", "js-post-60003"]


def test_local_test_forum_reads_the_same_with_or_without_its_selectors() -> None:
    """The XenForo-2-style forum of tests/site: detected as xenforo2, and equal to the catalog whether the
    preset is used or the selectors sources.yaml gives it."""
    import yaml

    from tests.site import DEFAULT_NOW, build_site, sources_yaml

    base = "http://127.0.0.1:8765"
    site = build_site(base, DEFAULT_NOW)
    shipped = next(s for s in yaml.safe_load(sources_yaml(base))["sources"] if s["kind"] == "forum")["forum"]
    thread = max(site.catalog.threads, key=lambda t: t.pages)
    for selectors in (None, {k: v for k, v in shipped.items() if k != "engine"}):
        posts = []
        url = thread.url + thread.page_paths[0].removeprefix(thread.path)
        for _ in thread.page_paths:
            body = site.pages[url.removeprefix(base)].body
            page = parse_thread_page(body, url, selectors=selectors, now=DEFAULT_NOW)
            assert page.engine == "xenforo2" and page.thread_url == thread.url and page.title == thread.title
            posts += page.posts
            url = page.next_url or ""
        assert not url
        assert [p.url for p in posts] == [f"{thread.url}#{p.id}" for p in thread.posts]
        assert [p.author for p in posts] == [p.author for p in thread.posts]
        assert [p.published for p in posts] == [p.time for p in thread.posts]
        assert [p.position for p in posts] == list(range(1, len(thread.posts) + 1))
        for got, want in zip(posts, thread.posts, strict=True):
            assert " ".join(want.text.split()) in " ".join(got.text.split())
            if want.quoted_text:
                assert " ".join(want.quoted_text.split()) not in " ".join(got.text.split())


def test_a_news_article_is_no_forum() -> None:
    from tests.site import build_site

    site = build_site("http://127.0.0.1:8765")
    article = site.catalog.articles[0]
    assert detect_engine(site.pages[article.path].body, article.url) is None


# --- Discourse ----------------------------------------------------------------------------------------------

DISCOURSE = "https://discourse.kinhbac.example"
TOPIC = f"{DISCOURSE}/t/ngap-lut-o-tu-son-sau-mua-lon/789"


def read_discourse(name: str) -> bytes:
    return (FIXTURES / "discourse" / name).read_bytes()


def test_discourse_json_urls() -> None:
    assert discourse_json_url(TOPIC) == f"{TOPIC}.json"
    assert discourse_json_url(f"{TOPIC}/17") == f"{TOPIC}.json"
    assert discourse_json_url(f"{TOPIC}?page=2&u=someone") == f"{TOPIC}.json?page=2"
    assert discourse_json_url(f"{TOPIC}.json?page=2") == f"{TOPIC}.json?page=2"
    assert discourse_json_url(f"{DISCOURSE}/c/thoi-su/5") == f"{DISCOURSE}/c/thoi-su/5.json"
    assert discourse_json_url(f"{DISCOURSE}/c/thoi-su/5?page=1") == f"{DISCOURSE}/c/thoi-su/5.json?page=1"
    assert discourse_json_url(f"{DISCOURSE}/c/tin-tuc/giao-thong/7/") == f"{DISCOURSE}/c/tin-tuc/giao-thong/7.json"
    assert discourse_json_url(f"{DISCOURSE}/latest") == f"{DISCOURSE}/latest.json"
    assert discourse_json_url(f"{DISCOURSE}/") == f"{DISCOURSE}/latest.json"
    assert request_url(TOPIC, "discourse") == f"{TOPIC}.json"
    assert request_url("https://f.vn/threads/x.1/", "xenforo2") == "https://f.vn/threads/x.1/"


def test_discourse_topic_json_pages() -> None:
    first = parse_thread_page(read_discourse("topic-1.json"), f"{TOPIC}.json", content_type="application/json")
    assert (first.engine, first.thread_url, first.page, first.title) == ("discourse", TOPIC, 1, TITLE)
    assert first.next_url == f"{TOPIC}.json?page=2"  # 23 posts in the stream, 20 a page
    assert len(first.posts) == 20
    assert [p.position for p in first.posts] == list(range(1, 21))
    assert [p.id for p in first.posts[:3]] == ["post_1", "post_2", "post_3"]
    assert [p.url for p in first.posts[:3]] == [f"{TOPIC}#post_1", f"{TOPIC}#post_2", f"{TOPIC}#post_3"]
    assert [p.author for p in first.posts[:3]] == AUTHORS[:3]  # usernames, never the real names
    assert [p.published for p in first.posts[:3]] == TIMES[:3]
    assert first.posts[0].text == P1 + "\nCác bác đi lại chú ý nhé."
    assert first.posts[2].text == P3  # the quote of post 1 is gone
    second = parse_thread_page(read_discourse("topic-2.json"), f"{TOPIC}.json?page=2")
    assert second.page == 2 and second.next_url is None
    # post 22 is a moderator's small action ("pinned"): not a post anyone wrote
    assert [(p.id, p.author, p.position, p.published, p.text) for p in second.posts] == [
        ("post_21", "HoangAnh.KB", 21, TIMES[3], "cảm ơn bạn"),
        ("post_23", "co_giao_thao", 23, TIMES[4], P5),
    ]
    assert detect_engine(read_discourse("topic-1.json")) == "discourse"


def test_discourse_category_json_pages() -> None:
    page = parse_section_page(read_discourse("category.json"), f"{DISCOURSE}/c/thoi-su/5.json")
    assert page.engine == "discourse"
    assert page.thread_urls == [f"{DISCOURSE}/t/noi-quy-chuyen-muc-thoi-su/700", TOPIC,
                                f"{DISCOURSE}/t/duong-ly-thai-to-sua-mai-chua-xong/770"]  # fmt: skip
    assert page.next_url == f"{DISCOURSE}/c/thoi-su/5.json?page=1"
    last = parse_section_page(read_discourse("category-2.json"), page.next_url)
    assert last.thread_urls == [f"{DISCOURSE}/t/kinh-nghiem-di-hoi-lim/610"] and last.next_url is None
    assert [request_url(u, page.engine) for u in page.thread_urls][1] == f"{TOPIC}.json"


def test_discourse_crawler_html_is_detected_and_read() -> None:
    html = read_discourse("topic.html")
    assert detect_engine(html, TOPIC) == "discourse"
    page = parse_thread_page(html, TOPIC)
    assert (page.engine, page.thread_url, page.title) == ("discourse", TOPIC, TITLE)
    assert [(p.id, p.author, p.position, p.published) for p in page.posts] == [
        (f"post_{n}", AUTHORS[n - 1], n, TIMES[n - 1]) for n in (1, 2, 3)
    ]
    assert page.posts[2].text == P3
    assert page.next_url == f"{TOPIC}.json?page=2"  # Discourse pages are fetched as JSON


def test_discourse_category_crawler_html_gives_topics_and_the_next_json_page() -> None:
    html = f"""<html><head><meta name="generator" content="Discourse 3.2.1 - https://github.com/discourse/discourse">
      </head><body class="crawler"><div class="topic-list"><table><tbody>
      <tr class="topic-list-item"><td><a href="{TOPIC}" class="title raw-link raw-topic-link" itemprop="url">{TITLE}</a>
        <span class="page-links"><a href="{TOPIC}?page=2">2</a></span></td></tr>
      <tr class="topic-list-item"><td>
        <a href="/t/kinh-nghiem-di-hoi-lim/610" class="title raw-link raw-topic-link">Hội Lim</a></td></tr>
      </tbody></table></div>
      <div role="navigation"><a rel="next" href="/c/thoi-su/5?page=1">Trang kế</a></div></body></html>"""
    page = parse_section_page(html, f"{DISCOURSE}/c/thoi-su/5")
    assert page.engine == "discourse"
    assert page.thread_urls == [TOPIC, f"{DISCOURSE}/t/kinh-nghiem-di-hoi-lim/610"]
    assert page.next_url == f"{DISCOURSE}/c/thoi-su/5.json?page=1"


def test_discourse_json_of_another_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="not a Discourse topic JSON"):
        parse_thread_page(json.dumps({"post_stream": 3}), f"{TOPIC}.json", engine="discourse")


# --- short posts -------------------------------------------------------------------------------------------


def test_short_posts_on_different_threads_are_not_linked_as_copies() -> None:
    """"cảm ơn bạn" on the XenForo 1, vBulletin 3 and phpBB threads, "thanks" on vBulletin 4: each keeps
    its own fingerprint (stable across re-crawls), while a long post copied elsewhere keeps its link."""
    thanks = {e: both_pages(BY_ENGINE[e])[1].posts[0] for e in ("xenforo1", "vbulletin3", "phpbb3")}
    assert {p.text for p in thanks.values()} == {"cảm ơn bạn"}
    assert len({p.content_hash for p in thanks.values()}) == 3
    again = both_pages(BY_ENGINE["xenforo1"])[1].posts[0]
    assert again.content_hash == thanks["xenforo1"].content_hash

    from crawlers.identity import content_hash

    long_text = (P1 + " ") * 3
    assert content_hash(long_text, document=f"{XF1}a.1/#post-1") == content_hash(long_text, document=f"{VB3}1#post2")
