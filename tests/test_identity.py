"""Document identity: canonical URLs, ids and content fingerprints."""


from crawlers.identity import canonical_url, content_hash, doc_id, is_short_text

BODY = (
    "Mưa lớn kéo dài khiến nhiều tuyến đường ở thành phố Từ Sơn bị ngập sâu trong nước.\n\n"
    "Chính quyền địa phương đã huy động lực lượng hỗ trợ người dân di chuyển tài sản đến nơi an toàn."
)


def test_canonical_url_drops_tracking_and_normalises() -> None:
    a = canonical_url("HTTP://Example.VN:80/tin/a.html?utm_source=fb&b=2&a=1#top")
    assert a == "http://example.vn/tin/a.html?a=1&b=2"
    assert canonical_url("https://f.vn/t/x.1/#post-9", keep_fragment=True).endswith("#post-9")
    assert doc_id(a) == doc_id(canonical_url("http://example.vn/tin/a.html?b=2&a=1&fbclid=zz"))


def test_content_hash_survives_attribution_lines_but_not_edits() -> None:
    reprint = "Theo Báo Bắc Ninh\n\n" + BODY + "\n\nPV"
    assert content_hash(reprint) == content_hash(BODY)
    assert content_hash(BODY.replace("ngập sâu", "ngập nhẹ")) != content_hash(BODY)
    assert content_hash("ok bạn") == content_hash("OK  bạn!")


def test_path_queries_of_forum_engines_are_kept_as_written() -> None:
    """XenForo without URL rewriting and vBulletin 4's "basic" friendly URLs route by a path in the query;
    sorted as parameters it became ``threads%2Fx.1%2F=``, which those forums no longer serve."""
    assert canonical_url("https://F.vn/index.php?threads/ngap-lut.123/page-2") == (
        "https://f.vn/index.php?threads/ngap-lut.123/page-2"
    )
    assert canonical_url("https://f.vn/showthread.php?123-ngap-lut/page2#post9", keep_fragment=True) == (
        "https://f.vn/showthread.php?123-ngap-lut/page2#post9"
    )
    assert canonical_url("https://f.vn/index.php?threads/ngập.1/") == "https://f.vn/index.php?threads/ng%E1%BA%ADp.1/"
    assert canonical_url("https://f.vn/a?b=2&a=1") == "https://f.vn/a?a=1&b=2"  # parameters are still sorted


def test_short_posts_get_fingerprints_of_their_own() -> None:
    """"cảm ơn bạn" on two threads is two people saying thanks, not a syndicated copy: keyed by the post,
    the fingerprints differ (and stay stable for the same post); a long text copied elsewhere still links."""
    a, b = "https://f.vn/threads/a.1/#post-1", "https://g.vn/showthread.php?t=2#post7"
    replies = ("cảm ơn bạn", "thanks", "Cảm ơn bác nhiều!", "+1, mình cũng gặp y như vậy.",
               "Hôm nay mình đi thấy đỡ hơn rồi.")  # fmt: skip
    for short in replies:
        assert is_short_text(short)
        assert content_hash(short, document=a) != content_hash(short, document=b), short
        assert content_hash(short, document=a) == content_hash(short.upper(), document=a)
    assert not is_short_text(BODY)
    reprint = "Theo Báo Bắc Ninh\n\n" + BODY
    assert content_hash(BODY, document=a) == content_hash(reprint, document=b) == content_hash(BODY)


def test_stories_never_group_greetings() -> None:
    """enrich.stories gives texts under MIN_WORDS words no signature, so they found no story and join none."""
    from enrich.stories import StoryMember, assign_stories, signature

    assert signature("cảm ơn bạn") is None and signature("thanks") is None and signature("Cảm ơn bác!") is None
    members = [
        StoryMember(doc_id=f"d{i}", story=None, signature=sig)
        for i, text in enumerate(["cảm ơn bạn", "cảm ơn bạn", "thanks", "thanks"])
        if (sig := signature(text)) is not None
    ]
    assert assign_stories(members, lambda bands: []) == {}


def test_stories_do_not_group_one_line_replies() -> None:
    """Reactions the local test forum reuses across threads ("Có ai biết thêm thì chia sẻ với nhé.", 9 words)
    would get identical signatures; forum posts below FORUM_MIN_WORDS get none, so they never share a story.
    A long post quoted verbatim on another thread still does."""
    from enrich.tagger import FORUM_MIN_WORDS, story_members

    reply = "Có ai biết thêm thì chia sẻ với nhé."
    long_post = " ".join(["Nước ngập sâu ở đường Lý Thái Tổ, xe máy chết máy hàng loạt."] * 3)
    assert len(long_post.split()) >= FORUM_MIN_WORDS > len(reply.split())
    docs = [{"id": "a", "text": reply, "kind": "forum"}, {"id": "b", "text": reply, "kind": "forum"},
            {"id": "c", "text": long_post, "kind": "forum"}, {"id": "d", "text": reply, "kind": "news"}]
    members = story_members(docs)
    assert members[0] is None and members[1] is None
    assert members[2] is not None and members[3] is not None  # news keeps the general rule
