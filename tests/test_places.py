"""Places: matching rules on known sentences, the labeled set from the local test site (precision and
recall per level), the sources' home province, and end to end: the test site crawled through the CLI
into a real node, ``mediawatch search --place`` and place facets, and backfill re-tagging places.

    .venv/bin/python -m tests.test_places      # prints the labeled set's figures (bench/README.md "Places")
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from enrich.places import find_places, gazetteer, normalize_province, places_version
from tests.conftest import Cluster, delete_prefix, run_cli
from tests.site import build_site, serve, sources_yaml

LABELS = Path(__file__).parent / "fixtures" / "places" / "labels.yaml"
HOME = "24"  # the test site's sources are in Bắc Ninh
TU_SON, LUONG_TAI = "09367", "09496"


def codes(places: list[dict[str, Any]], level: str | None = None) -> set[str]:
    return {p["code"] for p in places if level is None or p["level"] == level}


def by_code(places: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p["code"]: p for p in places}


# -- rules on known sentences ----------------------------------------------------------------------


def test_phuong_tu_son_and_xa_luong_tai_are_those_units_in_bac_ninh() -> None:
    site = build_site("http://127.0.0.1:1").catalog
    article = site.article(site.place_articles["tu_son_luong_tai"])
    found = by_code(find_places(article.title, article.text, home=HOME))
    assert found[TU_SON] == {"code": TU_SON, "name": "Phường Từ Sơn", "level": "ward", "province": "24",
                             "province_name": "Bắc Ninh", "matched": "Phường Từ Sơn"}
    assert found[LUONG_TAI]["name"] == "Xã Lương Tài" and found[LUONG_TAI]["province"] == "24"
    assert found["24"]["level"] == "province" and found["24"]["name"] == "Bắc Ninh"
    assert codes(find_places(None, article.text)) == {"24", TU_SON, LUONG_TAI}  # no home province needed


@pytest.mark.parametrize("text", [
    "nguoi dan phuong tu son va xa luong tai phan anh ve rac thai",
    "Người dân PHƯỜNG TỪ SƠN và Xã Lương Tài phản ánh",
    "Tu Son ward and Luong Tai commune in Bac Ninh province pilot a one-stop desk",
    "Thủ tục ở phường Từ Sơn nhanh hơn, xã Lương Tài thì đông người.",
])
def test_with_and_without_diacritics_and_type_words(text: str) -> None:
    assert codes(find_places(None, text)) == {"24", TU_SON, LUONG_TAI}


@pytest.mark.parametrize(("text", "expected"), [
    ("Du khách đổ về đặc khu Phú Quốc dịp cuối năm.", {"91", "31078"}),
    ("Giá nhà ở TP.HCM và TP. Hà Nội tăng.", {"79", "01"}),
    ("Người dân tỉnh Bắc Ninh và thành phố Huế.", {"24", "46"}),
    ("Tắc đường ở phường Hoàn Kiếm.", {"01", "00070"}),
])
def test_type_words(text: str, expected: set[str]) -> None:
    assert codes(find_places(None, text)) == expected


def test_old_names_map_to_todays_unit_or_the_province() -> None:
    def found(text: str) -> set[str]:
        return codes(find_places(None, text))

    assert found("Học sinh huyện Lương Tài giành 5 giải.") == {"24"}  # the district became four communes
    assert found("Khu gần thị trấn Chờ, huyện Yên Phong cũ.") == {"24", "09193"}  # went whole into Xã Yên Phong
    assert found("Nghi lễ ở thị trấn Lim.") == {"24", "09319"}  # Xã Tiên Du
    assert found("Ngã tư phường Đình Bảng, thành phố Từ Sơn") == {"24", TU_SON}
    assert found("Doanh nghiệp tỉnh Bắc Giang cũ") == {"24"}  # merged into Bắc Ninh
    assert found("Doanh nghiệp từ tỉnh Hải Dương cũ") == {"31"}  # merged into Hải Phòng
    place = by_code(find_places(None, "Người dân phường Đồng Kỵ"))["09382"]
    assert place["name"] == "Phường Đồng Nguyên" and place["matched"] == "phường Đồng Kỵ"


def test_a_shared_name_resolves_by_the_documents_other_places_then_the_source() -> None:
    # "Xã Đại Đồng" is a commune of Bắc Ninh, Hưng Yên, Nghệ An and Phú Thọ.
    alone = "Xã Đại Đồng mở rộng vùng trồng rau an toàn."
    assert find_places(None, alone) == []  # no way to tell which
    assert by_code(find_places(None, alone, home="24"))["24"]
    assert by_code(find_places(None, alone, home="40"))["40"]
    home_ward = codes(find_places(None, alone, home="24"), "ward")
    context = "Xã Đại Đồng (tỉnh Nghệ An) mở rộng vùng trồng rau an toàn."
    assert codes(find_places(None, context, home="24"), "province") == {"40"}
    nearest = "Đoàn công tác tỉnh Bắc Ninh đã sang thăm. Ngày 12/11, xã Đại Đồng, tỉnh Nghệ An đón đoàn."
    wards = codes(find_places(None, nearest, home="24"), "ward")
    assert len(wards) == 1 and wards != home_ward and by_code(find_places(None, context))[next(iter(wards))]
    # "Xã Tân Tiến" of Hưng Yên, although the source is in Bắc Ninh, which has a ward of that name.
    site = build_site("http://127.0.0.1:1").catalog
    article = site.article(site.place_articles["shared_by_context"])
    assert codes(find_places(article.title, article.text, home="24")) == {"33", "12478"}


@pytest.mark.parametrize("text", [
    "Giá hoa huệ, hoa ly tăng; chị Nguyễn Thị Huệ bán hoa trên đường Quang Trung.",
    "Các nhà vườn áp dụng công nghệ tân tiến, hòa bình và an toàn.",
    "Anh Trần Văn Hòa Bình, chủ nhà vườn, cho biết giá sẽ tăng.",
    "Ông Nguyễn Văn Khải, Chủ tịch UBND, cho biết trung tâm phục vụ hành chính công đông người.",
    "Cô Vũ Thanh Hạnh, giáo viên Trường THCS Văn Môn, chia sẻ.",
])
def test_no_place_from_ordinary_words_people_streets_or_schools(text: str) -> None:
    assert find_places(None, text, home="24") == []


def test_ascii_words_are_names_only_in_a_passage_without_diacritics() -> None:
    assert find_places(None, "Chủ tịch UBND xã Lương Tài, cho biết", home="24")[-1]["code"] == LUONG_TAI
    assert codes(find_places(None, "Chủ tịch UBND xã Lương Tài, cho biết", home="24")) == {"24", LUONG_TAI}
    assert codes(find_places(None, "bac nao o Phu Chan cho hoi", home="24")) == {"24", TU_SON}


def test_lookup_for_people() -> None:
    gaz = gazetteer()
    assert [u.code for u in gaz.lookup("Từ Sơn")] == [TU_SON]
    assert [u.code for u in gaz.lookup("phuong tu son")] == [TU_SON]
    assert [u.code for u in gaz.lookup("Bắc Ninh")] == ["24"]
    assert [u.code for u in gaz.lookup("9367")] == [TU_SON]
    assert [u.code for u in gaz.lookup("Tân Tiến, Hưng Yên")] == ["12478"]
    assert len(gaz.lookup("Tân Tiến")) > 3
    assert gaz.lookup("Atlantis") == []
    assert normalize_province("bac ninh") == normalize_province(24) == normalize_province("tỉnh Bắc Ninh") == "24"
    with pytest.raises(ValueError, match="not a province of the 2025 list"):
        normalize_province("Bắc Giang")  # merged in 2025


def test_the_gazetteer_is_the_packages_list() -> None:
    gaz = gazetteer()
    assert len(gaz.provinces) == 34 and len(gaz.wards) == 3321
    assert gaz.old_names > 10_000  # the 63-province list's communes and wards
    assert places_version().startswith("places-")


# -- the labeled set --------------------------------------------------------------------------------


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / ((self.tp + self.fp) or 1)

    @property
    def recall(self) -> float:
        return self.tp / ((self.tp + self.fn) or 1)


def evaluate(subset: str = "all") -> dict[str, Score]:
    """Micro-averaged scores per level over the labeled documents (``subset``: all, generated — the
    site's pages written before places existed — or written — the pages written for these tests)."""
    catalog = build_site("http://127.0.0.1:1").catalog
    posts = {p.id: (t, p) for t in catalog.threads for p in t.posts}
    scores = {"province": Score(), "ward": Score()}
    for entry in yaml.safe_load(LABELS.read_text(encoding="utf-8")):
        doc: str = entry["doc"]
        written = doc.startswith("place:") or (doc.startswith("post-") and posts[doc][0].path == catalog.place_thread)
        if subset != "all" and (subset == "written") != written:
            continue
        if doc.startswith("post-"):
            thread, post = posts[doc]
            title, text = thread.title, post.text
        else:
            article = catalog.article(catalog.place_articles[doc[6:]] if doc.startswith("place:") else doc)
            title, text = article.title, article.text
        found = find_places(title, text, home=HOME)
        for level, key in (("province", "provinces"), ("ward", "wards")):
            got, want = codes(found, level), {str(code) for code in entry[key]}
            scores[level].tp += len(got & want)
            scores[level].fp += len(got - want)
            scores[level].fn += len(want - got)
    return scores


def test_labels_name_real_documents_and_units() -> None:
    catalog = build_site("http://127.0.0.1:1").catalog
    posts = {p.id for p in catalog.posts}
    gaz = gazetteer()
    entries = yaml.safe_load(LABELS.read_text(encoding="utf-8"))
    assert len(entries) >= 100
    for entry in entries:
        doc = entry["doc"]
        if doc.startswith("place:"):
            assert doc[6:] in catalog.place_articles
        elif doc.startswith("post-"):
            assert doc in posts
        else:
            catalog.article(doc)
        for code, name in entry["provinces"].items():
            assert gaz.provinces[str(code)].name == name
        for code, name in entry["wards"].items():
            unit = gaz.wards[str(code)]
            assert f"{unit.name}, {unit.province_name}" == name
            assert unit.province in {str(c) for c in entry["provinces"]}


def test_precision_and_recall_on_the_labeled_set() -> None:
    """Floors a little under the figures in bench/README.md ("Places"), so a regression shows."""
    scores = evaluate()
    assert scores["province"].precision >= 0.97 and scores["province"].recall >= 0.95
    assert scores["ward"].precision >= 0.9 and scores["ward"].recall >= 0.93
    generated = evaluate("generated")
    assert generated["ward"].precision >= 0.85 and generated["ward"].recall >= 0.9


# -- sources ----------------------------------------------------------------------------------------


def test_sources_take_a_home_province_by_code_or_name(tmp_path: Path) -> None:
    from crawlers.sources import load_sources
    from mediawatch.errors import ConfigError

    path = tmp_path / "sources.yaml"
    entry = 'sources:\n  - {{id: a, name: A, kind: news, home: "http://127.0.0.1:1/", province: {value}}}\n'
    for value in ("24", "bac ninh", '"Bắc Ninh"', "tỉnh Bắc Ninh"):
        path.write_text(entry.format(value=value), encoding="utf-8")
        assert [s.province for s in load_sources(path)] == ["24"]
    path.write_text(entry.format(value="Bắc Giang"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sources\.yaml: source a: field province: not a province of the 2025"):
        load_sources(path)


def test_search_refuses_an_ambiguous_or_unknown_place_listing_candidates() -> None:
    result = run_cli("search", "lúa", "--place", "Tân Tiến")
    assert result.returncode == 2
    assert "ambiguous" in result.stderr and "Xã Tân Tiến (Hưng Yên, 12478)" in result.stderr
    assert "Phường Tân Tiến (Bắc Ninh" in result.stderr
    result = run_cli("search", "lúa", "--place", "Atlantis")
    assert result.returncode == 2 and "names no province or commune/ward" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# -- end to end -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crawled(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory):
    """The test site crawled once through the CLI; its stored documents by URL."""
    from elasticsearch import Elasticsearch

    prefix = f"mwplaces-{uuid.uuid4().hex[:6]}"
    data_dir = tmp_path_factory.mktemp("places")
    with serve(now=datetime.now(UTC)) as server:
        sources = data_dir / "sources.yaml"
        sources.write_text(sources_yaml(server.base_url), encoding="utf-8")
        env = cluster.env(prefix, data_dir, MEDIAWATCH_CRAWL__SOURCES_FILE=str(sources))
        result = run_cli("crawl", "--json", env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        client = Elasticsearch(cluster.url)
        docs = {h["_source"]["url"]: {**h["_source"], "_id": h["_id"]} for h in client.search(
            index=f"{prefix}-docs", size=1000, query={"match_all": {}})["hits"]["hits"]}
        yield {"server": server, "catalog": server.site.catalog, "env": env, "docs": docs, "client": client,
               "prefix": prefix}
    delete_prefix(cluster.url, prefix)


def _search(crawled: dict, *args: str) -> dict[str, Any]:
    result = run_cli("search", *args, "--json", env=crawled["env"])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_crawl_stores_places_with_codes_names_and_version(crawled) -> None:
    catalog, base = crawled["catalog"], crawled["server"].base_url
    doc = crawled["docs"][base + catalog.place_articles["tu_son_luong_tai"]]
    places = by_code(doc["places"])
    assert places[TU_SON]["name"] == "Phường Từ Sơn" and places[TU_SON]["province_name"] == "Bắc Ninh"
    assert places[LUONG_TAI]["name"] == "Xã Lương Tài" and places["24"]["level"] == "province"
    assert doc["models"]["places"] == places_version()
    assert all("places" in d and d["models"].get("places") for d in crawled["docs"].values())
    # A shared name: Bắc Ninh's ward for a post of the Bắc Ninh forum without other places ...
    post = next(d for d in crawled["docs"].values() if d["text"].startswith("minh o phuong Tam Son"))
    assert [p["name"] for p in post["places"] if p["level"] == "ward"] == ["Phường Tam Sơn"]
    assert by_code(post["places"])["24"]
    # ... and Hưng Yên's when the article names Hưng Yên.
    other = crawled["docs"][base + catalog.place_articles["shared_by_context"]]
    assert codes(other["places"]) == {"33", "12478"}


def test_search_by_place_finds_the_article(crawled) -> None:
    catalog, base = crawled["catalog"], crawled["server"].base_url
    url = base + catalog.place_articles["tu_son_luong_tai"]
    for place in ("phường Từ Sơn", "phuong tu son", TU_SON, "Lương Tài", "xa luong tai"):
        found = _search(crawled, "", "--place", place, "--size", "100")
        assert url in {h["url"] for h in found["hits"]}, place
        for hit in found["hits"]:
            assert {TU_SON, LUONG_TAI} & codes(hit["places"]), hit["url"]
    both = _search(crawled, "một cửa số", "--place", TU_SON, "--place", LUONG_TAI)
    assert both["hits"][0]["url"] == url
    assert by_code(both["hits"][0]["places"])[TU_SON] == {
        "code": TU_SON, "name": "Phường Từ Sơn", "level": "ward", "province": "24", "province_name": "Bắc Ninh"}
    expected = {u for u, d in crawled["docs"].items() if "24" in codes(d["places"])}
    province = _search(crawled, "", "--place", "Bắc Ninh", "--size", "1000")
    assert {h["url"] for h in province["hits"]} == expected and province["total"] == len(expected)


def test_place_facets_count_documents_per_unit(crawled) -> None:
    result = _search(crawled, "", "--facets", "--size", "1")
    facets = result["facets"]
    docs = crawled["docs"].values()
    for code in ("24", TU_SON, LUONG_TAI):
        assert facets["place"][code] == sum(code in codes(d["places"]) for d in docs)
    assert facets["place_names"][TU_SON] == "Phường Từ Sơn, Bắc Ninh"
    assert facets["place_names"]["24"] == "Bắc Ninh"
    table = run_cli("search", "", "--facets", "--size", "1", env=crawled["env"])
    assert table.returncode == 0 and "Phường Từ Sơn, Bắc Ninh" in table.stdout


def test_backfill_retags_places_of_stale_documents(crawled) -> None:
    client, prefix = crawled["client"], crawled["prefix"]
    url = crawled["server"].base_url + crawled["catalog"].place_articles["tu_son_luong_tai"]
    doc = crawled["docs"][url]
    client.update(index=f"{prefix}-docs", id=doc["_id"], refresh=True,
                  doc={"places": [], "models": {**doc["models"], "places": "places-0@old"}})
    result = run_cli("enrich", "backfill", env=crawled["env"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "tagged 1 documents" in result.stdout
    stored = client.get(index=f"{prefix}-docs", id=doc["_id"])["_source"]
    assert codes(stored["places"]) == {"24", TU_SON, LUONG_TAI}
    assert stored["models"]["places"] == places_version()


if __name__ == "__main__":
    for subset in ("all", "generated", "written"):
        for level, score in evaluate(subset).items():
            print(f"{subset:<9} {level:<8} tp {score.tp:3d} fp {score.fp:2d} fn {score.fn:2d}  "
                  f"precision {score.precision:.3f}  recall {score.recall:.3f}")
