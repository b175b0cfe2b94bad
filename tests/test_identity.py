"""Document identity: canonical URLs, ids and content fingerprints."""

from crawlers.identity import canonical_url, content_hash, doc_id

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
