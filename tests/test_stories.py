"""Story grouping: copies and light reprints share a story, other articles do not, origins are earliest."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from enrich.stories import (
    BANDS,
    NUM_PERM,
    Origin,
    Signature,
    StoryAssignment,
    StoryMember,
    assign_stories,
    jaccard,
    normalize,
    shingles,
    signature,
    story_id_for,
)

ARTICLE = """Mưa lớn kéo dài, nhiều tuyến phố ở Từ Sơn ngập sâu

Từ chiều tối 14/9, mưa lớn kéo dài trên địa bàn tỉnh Bắc Ninh khiến nhiều tuyến phố tại thành phố Từ Sơn bị ngập sâu, \
giao thông ùn tắc kéo dài. Theo ghi nhận của phóng viên, nước ngập tới đầu gối tại các tuyến đường Lý Thánh Tông, \
Minh Khai và khu vực trước cổng chợ Giầy, nhiều xe máy chết máy giữa đường, người dân phải dắt bộ hàng trăm mét.

Ông Nguyễn Văn Hùng, một tiểu thương ở phường Đông Ngàn, cho biết gia đình đã phải kê cao hàng hóa từ sáng sớm nhưng \
nước vẫn tràn vào nhà. "Năm nào mưa to cũng ngập, nhưng lần này nước lên nhanh hơn mọi khi, chỉ khoảng một tiếng là \
đã vào tới sân," ông nói.

Trao đổi với báo chí, đại diện Ủy ban nhân dân thành phố Từ Sơn cho biết lượng mưa đo được trong đêm vượt 180 mm, \
vượt quá khả năng tiêu thoát của hệ thống cống hiện có. Thành phố đã huy động lực lượng công an, quân sự và công nhân \
môi trường túc trực tại các điểm ngập, cắm biển cảnh báo và hướng dẫn phân luồng giao thông. Các trạm bơm tiêu Đồng \
Quang và Tân Hồng được vận hành hết công suất để hạ mực nước.

Trung tâm Dự báo khí tượng thủy văn quốc gia nhận định mưa lớn có thể còn kéo dài đến hết ngày 16/9. Người dân cần \
theo dõi thông tin cảnh báo, hạn chế ra đường khi trời mưa to và không đi qua những đoạn đường ngập sâu, nước chảy xiết.
"""

# The same body under another outlet's headline, with the usual attribution line.
SYNDICATED = (
    "Bắc Ninh: Nước ngập đến đầu gối, giao thông Từ Sơn tê liệt sau đêm mưa\n\n"
    + ARTICLE.split("\n", 2)[2]
    + "\nTheo Báo Bắc Ninh\n"
)

# Another outlet's own report on the same flood: same facts and places, its own words.
SAME_TOPIC = """Từ Sơn: Người dân vất vả lội nước sau trận mưa như trút

Trận mưa như trút nước bắt đầu từ khoảng 17 giờ ngày 14/9 đã khiến nhiều khu dân cư ở thành phố Từ Sơn chìm trong \
biển nước. Tại khu phố Dương Lôi, phường Tân Hồng, mực nước có nơi lên tới 60 cm, tràn vào hàng chục ngôi nhà thấp \
trũng. Chị Trần Thị Mai, chủ một cửa hàng tạp hóa gần chợ, kể rằng cả gia đình thức trắng đêm để chuyển tủ lạnh, máy \
giặt và bao gạo lên tầng hai. "Nhà tôi ở đây hơn hai mươi năm, chưa thấy đợt nào nước dâng nhanh như vậy," chị Mai nói.

Trên đường Trần Phú, nhiều ô tô phải quay đầu vì không thể đi qua, trong khi các bạn trẻ tình nguyện mang áo mưa, đèn \
pin ra hỗ trợ người đi xe máy đẩy xe qua đoạn ngập. Lãnh đạo phường Tân Hồng cho biết đã bố trí cán bộ trực suốt đêm, \
sẵn sàng di dời các hộ có người già và trẻ nhỏ đến nhà văn hóa khu phố nếu nước tiếp tục dâng.

Nhiều người dân cho rằng việc san lấp ao hồ để xây dựng khu đô thị mới trong những năm gần đây khiến nước mưa không \
còn chỗ thoát. Một cán bộ ngành xây dựng của tỉnh thừa nhận hệ thống thoát nước của Từ Sơn được thiết kế từ lâu, chưa \
theo kịp tốc độ đô thị hóa, và cho biết tỉnh đang nghiên cứu dự án cải tạo các tuyến mương tiêu chính. Đến sáng 15/9, \
nước đã rút dần ở một số tuyến phố, nhưng nhiều con ngõ vẫn còn ngập, rác thải trôi nổi gây mùi khó chịu.
"""

UNRELATED = """Bắc Ninh thu hút thêm gần 900 triệu USD vốn đầu tư nước ngoài

Trong tám tháng đầu năm, tỉnh Bắc Ninh đã cấp mới giấy chứng nhận đăng ký đầu tư cho 112 dự án có vốn đầu tư nước \
ngoài, đồng thời điều chỉnh tăng vốn cho 64 lượt dự án, tổng vốn thu hút đạt gần 900 triệu USD. Phần lớn các dự án \
mới tập trung vào lĩnh vực sản xuất linh kiện điện tử, thiết bị bán dẫn và công nghiệp hỗ trợ, chủ yếu đến từ Hàn \
Quốc, Trung Quốc, Nhật Bản và Singapore.

Theo Sở Kế hoạch và Đầu tư, các khu công nghiệp Yên Phong, Quế Võ và VSIP tiếp tục là điểm đến hấp dẫn nhờ hạ tầng \
đồng bộ, vị trí gần sân bay quốc tế Nội Bài và cảng biển Hải Phòng. Bên cạnh đó, tỉnh đã rút ngắn thời gian giải quyết \
thủ tục cấp phép đầu tư xuống còn khoảng mười ngày làm việc, thấp hơn nhiều so với quy định. Tuy nhiên, lãnh đạo tỉnh \
cũng thẳng thắn chỉ ra những hạn chế như quỹ đất sạch cho công nghiệp đang dần cạn, nguồn nhân lực kỹ thuật cao chưa \
đáp ứng nhu cầu và áp lực lên hệ thống nhà ở cho công nhân ngày càng lớn.

Trong thời gian tới, Bắc Ninh sẽ ưu tiên thu hút các dự án công nghệ cao, thân thiện với môi trường, có khả năng \
chuyển giao công nghệ và liên kết với doanh nghiệp trong nước. Tỉnh cũng đẩy nhanh tiến độ giải phóng mặt bằng các khu \
công nghiệp mới, xây dựng thêm các thiết chế văn hóa và nhà ở xã hội để giữ chân người lao động. Các chuyên gia nhận \
định, nếu giải quyết tốt bài toán nhân lực và hạ tầng, Bắc Ninh có thể duy trì vị thế là một trong những địa phương \
dẫn đầu cả nước về thu hút vốn FDI.
"""

# A follow-up that reuses the first two thirds of ARTICLE and adds its own morning-after report.
FOLLOW_UP = (
    ARTICLE.split("Thành phố đã huy động")[0]
    + """Sáng 15/9, nước tại phần lớn các tuyến phố đã rút, công nhân môi trường khẩn trương thu gom rác và bùn đất \
để trả lại mặt đường thông thoáng. Chủ tịch thành phố yêu cầu các phường rà soát những điểm thường xuyên ngập úng, \
đề xuất giải pháp cải tạo cống thoát nước trước mùa mưa bão năm sau.
"""
)


def edited(text: str, *changes: tuple[str, str]) -> str:
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


# A reprint: one sentence added, a few words changed.
REPRINT = edited(
    ARTICLE,
    ("nhiều xe máy chết máy", "không ít xe máy chết máy"),
    ("vượt 180 mm", "lên tới 185 mm"),
    ("hết công suất", "tối đa công suất"),
    (
        "giao thông ùn tắc kéo dài.",
        "giao thông ùn tắc kéo dài. Nhiều trường học trong khu vực phải cho học sinh nghỉ sớm để đảm bảo an toàn.",
    ),
)

T0 = datetime(2024, 9, 14, 20, 0, tzinfo=UTC)


def member(doc_id: str, text: str, published: datetime | None = T0, source: str | None = None) -> StoryMember:
    sig = signature(text)
    assert sig is not None
    src = source or f"outlet-{doc_id}"
    return StoryMember(
        doc_id=doc_id, story=None, signature=sig, published=published, source=src, url=f"https://{src}.vn/{doc_id}"
    )


class MemoryIndex:
    """What the Elasticsearch side does: stored members, found by any shared band key."""

    def __init__(self) -> None:
        self.stored: dict[str, StoryMember] = {}
        self.queries: list[Sequence[str]] = []

    def candidates(self, bands: Sequence[str]) -> Iterable[StoryMember]:
        self.queries.append(bands)
        wanted = set(bands)
        return [m for m in self.stored.values() if wanted.intersection(m.signature.bands)]

    def ingest(self, new: Sequence[StoryMember], threshold: float = 0.6) -> dict[str, StoryAssignment]:
        assigned = assign_stories(new, self.candidates, threshold=threshold)
        for m in new:
            a = assigned[m.doc_id]
            self.stored[m.doc_id] = replace(m, story=a.story, origin=a.origin)
        # As the caller does with an update-by-query: stored members keep their story's origin current.
        origins = {a.story: a.origin for a in assigned.values()}
        for doc_id, m in self.stored.items():
            if m.story in origins:
                self.stored[doc_id] = replace(m, origin=origins[m.story])
        return assigned


def test_normalize_folds_case_diacritics_tone_placement_and_punctuation() -> None:
    assert normalize("  Lũ LỤT, ngập-úng!\n\tĐường  hoà/hòa…") == "lu lut ngap ung duong hoa hoa"
    import unicodedata

    assert normalize(unicodedata.normalize("NFD", ARTICLE)) == normalize(ARTICLE)


def test_shingles_short_and_empty_text() -> None:
    assert shingles("") == set()
    assert shingles(" … !? ") == set()
    assert shingles("Ngập quá bác ơi") == {"ngap qua bac oi"}  # under k words: one shingle of all
    assert shingles("mưa to ngập sâu đường phố Từ Sơn") == {
        "mua to ngap sau duong",
        "to ngap sau duong pho",
        "ngap sau duong pho tu",
        "sau duong pho tu son",
    }
    assert shingles("a b c", k=1) == {"a", "b", "c"}
    with pytest.raises(ValueError):
        shingles("a b", k=0)


def test_signature_shape_and_short_text() -> None:
    assert signature("") is None
    assert signature("   ,,, ") is None
    assert signature("Cảm ơn bác") is None  # fewer than MIN_WORDS words
    short = signature("Ngập quá các bác ơi")
    assert short is not None and short == signature("ngap qua cac bac oi!")
    sig = signature(ARTICLE)
    assert sig is not None
    assert len(sig.minhash) == NUM_PERM and all(0 <= v < 2**32 for v in sig.minhash)  # fits an ES long
    assert [b.split(":")[0] for b in sig.bands] == [f"b{i:02d}" for i in range(BANDS)]
    assert all(len(b) == 20 for b in sig.bands)
    assert signature(ARTICLE * 400) is not None  # ~1 MB-ish input stays fine


def test_signature_is_stable_across_processes_and_releases() -> None:
    # Computed once and frozen: a change here means stored band keys no longer match new documents.
    sig = signature(ARTICLE)
    assert sig is not None
    assert sig.minhash[:4] == EXPECTED_MINHASH_PREFIX
    assert sig.bands[:2] == EXPECTED_BANDS_PREFIX


def test_minhash_equals_datasketch_affine32() -> None:
    import datasketch
    from datasketch.hashfunc import sha1_hash32

    from enrich.stories import SEED

    mh = datasketch.MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32", hashfunc=sha1_hash32)
    mh.update_batch([s.encode() for s in shingles(ARTICLE)])
    sig = signature(ARTICLE)
    assert sig is not None and tuple(int(v) for v in mh.hashvalues) == sig.minhash


def test_syndicated_copy_with_new_headline_and_attribution_joins() -> None:
    index = MemoryIndex()
    first = index.ingest([member("a", ARTICLE, T0)])["a"]
    assert first.story == story_id_for("a") and first.similarity == 1.0 and first.matched is None
    assert not first.existing

    copy = index.ingest([member("copy", SYNDICATED, T0 + timedelta(hours=2))])["copy"]
    assert copy.story == first.story
    assert copy.matched == "a" and copy.similarity >= 0.8
    assert copy.existing
    assert copy.origin == Origin("outlet-a", "https://outlet-a.vn/a", T0, "a")
    assert index.queries[-1] == index.stored["copy"].signature.bands


def test_lightly_edited_reprint_joins() -> None:
    index = MemoryIndex()
    index.ingest([member("a", ARTICLE)])
    reprint = index.ingest([member("r", REPRINT, T0 + timedelta(days=1))])["r"]
    assert reprint.story == story_id_for("a")
    assert 0.6 <= reprint.similarity < 1.0


def test_other_articles_on_the_same_topic_do_not_join() -> None:
    a, other = signature(ARTICLE), signature(SAME_TOPIC)
    assert a is not None and other is not None
    assert jaccard(a, other) < 0.1
    assert len(shingles(ARTICLE) & shingles(SAME_TOPIC)) <= 3  # a few shared place names, not a copy
    index = MemoryIndex()
    index.ingest([member("a", ARTICLE)])
    got = index.ingest([member("b", SAME_TOPIC, T0 + timedelta(hours=1)), member("c", UNRELATED)])
    assert got["b"].story == story_id_for("b") and got["c"].story == story_id_for("c")
    assert got["b"].origin.doc_id == "b"


def test_batch_of_three_copies_and_two_unrelated_gives_three_stories() -> None:
    batch = [
        member("copy", SYNDICATED, T0 + timedelta(hours=3)),
        member("b", SAME_TOPIC, T0 + timedelta(hours=1)),
        member("reprint", REPRINT, T0 + timedelta(hours=5)),
        member("c", UNRELATED, T0 - timedelta(days=2)),
        member("a", ARTICLE, T0),
    ]
    results = []
    for seed in range(4):
        shuffled = batch[:]
        random.Random(seed).shuffle(shuffled)
        results.append(assign_stories(shuffled, MemoryIndex().candidates))
    assert all(r == results[0] for r in results)  # independent of input order

    got = results[0]
    assert len({a.story for a in got.values()}) == 3
    assert got["a"].story == got["copy"].story == got["reprint"].story == story_id_for("a")
    assert {got["a"].origin.doc_id, got["copy"].origin.doc_id, got["reprint"].origin.doc_id} == {"a"}
    assert got["a"].matched is None and got["copy"].matched == "a"
    assert not any(a.existing for a in got.values())
    assert got["b"].story == story_id_for("b") and got["c"].story == story_id_for("c")


def test_origin_is_earliest_published_even_when_it_arrives_later() -> None:
    index = MemoryIndex()
    copy = index.ingest([member("copy", SYNDICATED, T0 + timedelta(hours=2))])["copy"]
    assert copy.origin.doc_id == "copy"

    # The original, published earlier, is crawled later: it joins the existing story and becomes its origin.
    original = index.ingest([member("a", ARTICLE, T0)])["a"]
    assert original.story == story_id_for("copy")
    assert original.existing and original.matched == "copy"
    assert original.origin == Origin("outlet-a", "https://outlet-a.vn/a", T0, "a")

    # A later reprint that shares no band with the original still gets the origin recorded on the story.
    index.stored["a"] = replace(index.stored["a"], signature=Signature((0,) * NUM_PERM, ("b00:none",)))
    later = index.ingest([member("r", SYNDICATED + "\nPV", T0 + timedelta(days=1))])["r"]
    assert later.story == story_id_for("copy") and later.matched == "copy"
    assert later.origin.doc_id == "a"


def test_origin_ties_and_unknown_dates_go_to_the_founder() -> None:
    index = MemoryIndex()
    index.ingest([member("z-founder", ARTICLE, None)])
    got = index.ingest([member("a-copy", SYNDICATED, None)])["a-copy"]
    assert got.story == story_id_for("z-founder")
    assert got.origin.doc_id == "z-founder"  # not "a-copy", although its id sorts first

    tie = index.ingest([member("b-copy", REPRINT, T0), member("a-copy2", SYNDICATED + " PV", T0)])
    assert {a.origin.doc_id for a in tie.values()} == {"a-copy2"}  # a known date beats an unknown one

    same_time = assign_stories([member("y", ARTICLE, T0), member("x", SYNDICATED, T0)], MemoryIndex().candidates)
    assert same_time["y"].story == story_id_for("x")  # same time: the smaller id founds and is the origin
    assert same_time["y"].origin.doc_id == "x"


def test_threshold_excludes_half_similar_documents() -> None:
    exact = len(shingles(ARTICLE) & shingles(FOLLOW_UP)) / len(shingles(ARTICLE) | shingles(FOLLOW_UP))
    assert 0.4 <= exact <= 0.56
    a, f = signature(ARTICLE), signature(FOLLOW_UP)
    assert a is not None and f is not None
    assert abs(jaccard(a, f) - exact) < 0.15
    assert jaccard(a, f) < 0.6

    new = [member("a", ARTICLE), member("f", FOLLOW_UP, T0 + timedelta(hours=12))]
    strict = assign_stories(new, MemoryIndex().candidates, threshold=0.6)
    assert strict["f"].story != strict["a"].story
    loose = assign_stories(new, MemoryIndex().candidates, threshold=0.35)
    assert loose["f"].story == loose["a"].story and loose["f"].similarity == pytest.approx(jaccard(a, f))


def test_stored_copy_of_a_new_document_is_not_its_own_match() -> None:
    # A backfill re-tags stored documents: the index already holds them, under the ids being assigned.
    index = MemoryIndex()
    index.ingest([member("a", ARTICLE), member("copy", SYNDICATED, T0 + timedelta(hours=1))])
    again = index.ingest([member("a", ARTICLE)])["a"]
    assert again.matched == "copy" and again.story == story_id_for("a")  # rejoins its story via the copy
    assert again.origin.doc_id == "a"
    # Re-tagged with a corrected (later) date, it no longer is the origin the copy has on record.
    corrected = index.ingest([member("a", ARTICLE, T0 + timedelta(days=1))])["a"]
    assert corrected.story == story_id_for("a") and corrected.origin.doc_id == "copy"
    alone = MemoryIndex()
    alone.ingest([member("b", SAME_TOPIC)])
    assert alone.ingest([member("b", SAME_TOPIC)])["b"].matched is None


def test_mixed_naive_and_aware_dates_and_incompatible_signatures() -> None:
    naive = member("n", ARTICLE, datetime(2024, 9, 14, 12, 0))  # naive: read as UTC
    aware = member("w", SYNDICATED, datetime(2024, 9, 14, 18, 30, tzinfo=timezone(timedelta(hours=7))))
    got = assign_stories([naive, aware], MemoryIndex().candidates)
    assert got["n"].story == got["w"].story and got["n"].origin.doc_id == "w"  # 11:30 UTC < 12:00 UTC
    sig = signature(ARTICLE)
    assert sig is not None
    assert jaccard(sig, Signature(sig.minhash[:64], sig.bands)) == 0.0
    assert jaccard(Signature((), ()), Signature((), ())) == 0.0
    assert assign_stories([], MemoryIndex().candidates) == {}


EXPECTED_MINHASH_PREFIX = (1540271, 21798169, 1201992, 11243482)
EXPECTED_BANDS_PREFIX = ("b00:ea7d7c65989353ec", "b01:78907b87694a1ce5")


def test_recent_stories_give_back_what_they_were_given_and_forget_the_oldest() -> None:
    """The compact memory (MinHash as bytes, band -> ids) hands back members equal to those remembered,
    finds them by any of their bands, and past its capacity forgets the oldest everywhere."""
    from enrich.stories import RecentStories

    rng = random.Random(5)
    vocabulary = [f"từ{i}" for i in range(400)]
    members = []
    for i in range(6):
        sig = signature(" ".join(rng.choices(vocabulary, k=60)))
        assert sig is not None
        members.append(StoryMember(doc_id=f"d{i}", story=f"s{i}", signature=sig, source="a", url=f"http://a/{i}",
                                   published=datetime(2026, 11, 1, i, tzinfo=UTC)))
    recent = RecentStories(capacity=4)
    for member in members[:4]:
        recent.remember(member)
    assert recent.candidates(members[2].signature.bands[5:6]) == [members[2]]
    assert recent.candidates(list(members[0].signature.bands) + list(members[3].signature.bands)) == [
        members[0], members[3]]
    recent.remember(replace(members[1], story="moved"))  # the same id again: replaced, not doubled
    assert len(recent) == 4
    assert recent.candidates(members[1].signature.bands) == [replace(members[1], story="moved")]
    for member in members[4:]:
        recent.remember(member)  # d0 and d2 are now the oldest
    assert len(recent) == 4
    assert recent.candidates(members[0].signature.bands) == []
    assert recent.candidates(members[2].signature.bands) == []
    assert recent.candidates(members[5].signature.bands) == [members[5]]
    assert all(ids for ids in recent._by_band.values())
    kept_bands = {band for m in (members[1], members[3], members[4], members[5]) for band in m.signature.bands}
    assert set(recent._by_band) == kept_bands  # forgotten members left no band behind
