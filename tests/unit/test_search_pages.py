"""Text search pages: whichever way a page is found (ids listed, the sort order walked and confirmed by
the search index, or a walk that gives up and lists the rest), it holds exactly the rows, in exactly the
order, of the plain query: every row whose text has every word, the last as a prefix, sorted."""

from __future__ import annotations

import sqlite3

import pytest

from app.domain import Customer
from app.domain.generate import DemoCompany
from app.store import CUSTOMERS, INVOICES, CompanyStore, Filters, Sort, queries, tables
from app.store.database import migrate
from app.store.schema import MIGRATIONS
from app.store.search import WORD, fold

TEXTS = ["oak", "oak table", "table", "harbour joinery", "INV-0001", "consult surv", "ta", "o", "pine sh",
         "siobhán", "SIOBHAN", "zzz-nothing", "oak zzz", "", "\"'*(:"]


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    company = DemoCompany("Search Test Ltd", 2500, seed=5)
    path = tmp_path_factory.mktemp("search") / "search.sqlite"
    store = CompanyStore.create(path)
    store.upsert_now(tables.CUSTOMERS, company.customers())
    assert store.begin_bulk_load()
    invoices = list(company.invoices())
    for start in range(0, len(invoices), 500):
        store.upsert_now(tables.INVOICES, invoices[start:start + 500])
    store.end_bulk_load()
    yield store
    store.close()


def expected_ids(store: CompanyStore, text: str, sort: Sort, status: str | None = None) -> list[int]:
    """The plain query, with FTS5's own prefix query for the last word."""
    words = ['"' + w.replace('"', '""') + '"' for w in WORD.findall(text)]
    clauses, params = ["1"], []
    if words:
        clauses.append("id IN (SELECT rowid FROM invoices_fts WHERE invoices_fts MATCH ?)")
        params.append(" ".join(words) + "*")
    if status:
        clauses.append("status = ?")
        params.append(status)
    direction = "DESC" if sort.descending else "ASC"
    return [r[0] for r in store.reader().execute(
        f"SELECT id FROM invoices WHERE {' AND '.join(clauses)} ORDER BY {sort.key} {direction}, id {direction}",
        params)]


def all_ids(store: CompanyStore, filters: Filters, sort: Sort, limit: int) -> list[int]:
    ids, after = [], None
    while True:
        page = store.page(INVOICES, filters, sort, after=after, limit=limit)
        ids += [row.id for row in page.rows]
        if page.after is None:
            return ids
        after = page.after


@pytest.fixture(params=["by id", "sort index against the list", "walked", "walk gives up"])
def strategy(request, monkeypatch):
    """Thresholds scaled down to this small company, so that each path serves the common words."""
    walks = []
    real_walk = queries._walk
    monkeypatch.setattr(queries, "_walk", lambda *a, **k: walks.append(a[5]) or real_walk(*a, **k))
    if request.param == "by id":
        monkeypatch.setattr(queries, "_FEW_MATCHES", 10_000)
    elif request.param == "sort index against the list":
        monkeypatch.setattr(queries, "_FEW_MATCHES", 40)
        monkeypatch.setattr(queries, "_WALK_DENSITY", 2.0)
    else:
        monkeypatch.setattr(queries, "_FEW_MATCHES", 40)
        monkeypatch.setattr(queries, "_WALK_DENSITY", 0.0)
        monkeypatch.setattr(queries, "_FIRST_CHUNK", 8)
        monkeypatch.setattr(queries, "_MAX_CHUNK", 90)
        if request.param == "walk gives up":
            monkeypatch.setattr(queries, "_WALK_BUDGET_S", 0.0)
    return request.param, walks


@pytest.mark.parametrize("key", list(INVOICES.sorts))
@pytest.mark.parametrize("descending", [False, True])
def test_every_page_of_a_search_is_the_plain_querys(filled, strategy, key, descending):
    name, walks = strategy
    sort = Sort(key, descending)
    for text in TEXTS:
        expected = expected_ids(filled, text, sort)
        assert all_ids(filled, Filters(text=text), sort, limit=150) == expected, text
        assert filled.count(INVOICES, Filters(text=text)) == len(expected), text
    assert bool(walks) == name.startswith("walk")


@pytest.mark.parametrize("text", ["oak", "oak table", "c"])
def test_a_search_with_other_filters_pages_like_the_plain_query(filled, strategy, text):
    sort = Sort("gross", descending=True)
    expected = expected_ids(filled, text, sort, status="paid")
    assert expected
    assert all_ids(filled, Filters(text=text, status="paid"), sort, limit=33) == expected
    assert filled.count(INVOICES, Filters(text=text, status="paid")) == len(expected)


def test_the_common_words_really_are_common(filled):
    """The walk above is exercised only if the common words match far more than the listed limit."""
    total = filled.count(INVOICES, Filters())
    assert filled.count(INVOICES, Filters(text="oak")) > total / 5
    assert filled.count(INVOICES, Filters(text="ta")) > total / 5


def test_words_fold_as_the_index_folds_them():
    assert fold("Siobhán") == ["siobhan"]
    assert fold("ÉCOLE") == ["ecole"]
    assert sorted(fold("INV-0042")) == ["0042", "inv"]


def test_a_file_from_before_the_vocabulary_tables_searches_after_its_upgrade(tmp_path):
    path = tmp_path / "v3.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, path, MIGRATIONS[:3])
    conn.close()
    with CompanyStore.open(path) as store:
        store.save(tables.CUSTOMERS, Customer(name="Tablet Repairs Ltd", email="t@example.com"))
        assert [r.name for r in store.page(CUSTOMERS, Filters(text="tab"), Sort("name")).rows] == ["Tablet Repairs Ltd"]
        assert store.count(CUSTOMERS, Filters(text="tablex")) == 0
