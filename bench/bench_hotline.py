"""Benchmark of the hotline. Prints figures beside references from the same run.

    .venv/bin/python bench/bench_hotline.py [--database-url URL] [--clients 8] [--orders 50] [--articles 10000]

1. Intake through the public API (`POST /api/hotline/public/orders`, the citizen's path, rate limit and
   validation included) with N concurrent clients: orders/s and p50/p99, beside `GET /healthz` driven the
   same way (the server's floor); then checks that every acknowledged order is stored exactly once under
   its own number (none lost, none numbered twice).
2. Knowledge-base search over N articles (default 10,000; target p99 < 50 ms) drawn from a vocabulary of
   topical and generated words (`--vocabulary 0`: topical words only, the worst case), p50/p95/p99 over 500
   queries of topical words,
   beside a full scan in Python counting shared terms (what the index saves), and how often our best hit
   shares as many query terms as the best article of the scan.
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
from pathlib import Path

import httpx
from bench_cases import prepare, serve
from sqlalchemy import delete, func, insert, select

from smartcity.config import Settings
from smartcity.core.db import Database, upgrade
from smartcity.hotline import knowledge
from smartcity.hotline.models import Article, WorkOrder

WORDS = [
    "生活垃圾",
    "分类投放",
    "清运时间",
    "大件垃圾",
    "道路积水",
    "窨井冒溢",
    "井盖缺失",
    "施工噪声",
    "夜间施工",
    "装修时间",
    "广场舞",
    "油烟扰民",
    "社保卡",
    "补办挂失",
    "灵活就业",
    "养老保险",
    "医疗保险",
    "入学报名",
    "幼儿园",
    "公交线路",
    "到站时间",
    "租赁押金",
    "物业服务",
    "维修资金",
    "电梯故障",
    "消费投诉",
    "食品安全",
    "过期食品",
    "停水通知",
    "水压不足",
    "路灯不亮",
    "乱停车",
    "占道经营",
    "违法搭建",
    "居住证",
    "公积金提取",
    "户籍迁移",
    "出入境",
    "营业执照",
    "税务登记",
    "医保报销",
    "门诊预约",
    "疫苗接种",
    "养老服务",
]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share) - 1)]


def intake(base: str, clients: int, per_client: int) -> tuple[list[str], list[float], float]:
    numbers: list[str] = []
    timings: list[float] = []
    lock = threading.Lock()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base, timeout=60) as c:
            for i in range(per_client):
                body = {
                    "order_type": rng.choice(["report", "complaint", "help"]),
                    "description": f"{rng.choice(WORDS)}问题 {seed}-{i}",
                    "caller_phone": f"139{rng.randrange(10**8):08d}",
                    "lon": 121.4846 + rng.uniform(-0.003, 0.003),
                    "lat": 31.2317 + rng.uniform(-0.003, 0.003),
                }
                start = time.perf_counter()
                response = c.post("/api/hotline/public/orders", json=body)
                spent = (time.perf_counter() - start) * 1000
                response.raise_for_status()
                with lock:
                    numbers.append(response.json()["number"])
                    timings.append(spent)

    return numbers, timings, _run(client, clients)


def healthz(base: str, clients: int, per_client: int) -> tuple[list[float], float]:
    timings: list[float] = []
    lock = threading.Lock()

    def client(_: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as c:
            for _ in range(per_client):
                start = time.perf_counter()
                c.get("/healthz").raise_for_status()
                with lock:
                    timings.append((time.perf_counter() - start) * 1000)

    return timings, _run(client, clients)


def _run(target, clients: int) -> float:  # type: ignore[no-untyped-def]
    threads = [threading.Thread(target=target, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def check_orders(database: Database, numbers: list[str]) -> tuple[int, int]:
    with database.session() as s:
        stored = s.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.number.in_(numbers)))
    return stored or 0, len(set(numbers))


def vocabulary(size: int) -> list[str]:
    """The topical words plus generated two-character words: a knowledge base's vocabulary is wide, and each
    article uses a small part of it. ``size`` 0 keeps only the topical words (every article then shares
    terms with almost every query: the worst case for ranking)."""
    rng = random.Random(11)
    generated = {chr(rng.randrange(0x4E00, 0x9FA5)) + chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(size)}
    return WORDS + sorted(generated)


def fill_articles(database: Database, n: int, words: list[str]) -> list[tuple[int, str]]:
    """N synthetic articles made of the vocabulary, written in bulk with their search terms."""
    rng = random.Random(5)
    with database.session() as s:
        s.execute(delete(Article).where(Article.updated_by == "bench"))
    rows = []
    for i in range(n):
        title = "".join(rng.sample(words, 2)) + f"办理指南{i}"
        body = "，".join("".join(rng.sample(words, 3)) for _ in range(6)) + "。"
        keywords = " ".join(rng.sample(words, 3))
        rows.append(
            {
                "title": title,
                "body": body,
                "keywords": keywords,
                "title_terms": knowledge.index_text(title),
                "keyword_terms": knowledge.index_text(keywords),
                "body_terms": knowledge.index_text(body),
                "active": True,
                "updated_by": "bench",
            }
        )
    for start in range(0, n, 5000):
        with database.session() as s:
            s.execute(insert(Article), rows[start : start + 5000])
    with database.session() as s:
        return [(a.id, a.title + " " + a.keywords + " " + a.body) for a in s.scalars(select(Article))]


def scan(documents: list[tuple[int, str]], query: str) -> dict[int, int]:
    """The reference: every article's text cut into terms and compared with the query's, in Python;
    returns each article's number of shared query terms."""
    wanted = set(knowledge.query_terms(query))
    return {i: len(wanted & set(knowledge.terms(text))) for i, text in documents}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="sqlite:///var/bench/hotline.db")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--orders", type=int, default=50, help="orders per client")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--vocabulary", type=int, default=5000, help="generated words besides the 48 topical ones")
    args = parser.parse_args()
    Path("var/bench").mkdir(parents=True, exist_ok=True)
    settings = Settings(
        database_url=args.database_url,
        env="test",
        secret_key="bench-" * 8,
        hotline_public_per_hour=10**9,  # one client address drives all the load here
        _env_file=None,
    )
    upgrade(settings)
    database = Database(settings)
    prepare(database)
    server, base = serve(settings)
    print(f"Hotline benchmark on {settings.database_url.split('@')[-1]}\n\nPublic intake over HTTP")
    numbers, timings, seconds = intake(base, args.clients, args.orders)
    print(
        f"  {args.clients} clients × {args.orders} orders: {len(numbers)} in {seconds:.1f} s = "
        f"{len(numbers) / seconds:.1f} orders/s   p50 {statistics.median(timings):.1f} ms   "
        f"p99 {percentile(timings, 0.99):.1f} ms"
    )
    floor, floor_seconds = healthz(base, args.clients, args.orders)
    print(
        f"  reference GET /healthz, same clients: {len(floor) / floor_seconds:.0f} requests/s   "
        f"p50 {statistics.median(floor):.1f} ms   p99 {percentile(floor, 0.99):.1f} ms"
    )
    stored, distinct = check_orders(database, numbers)
    print(f"  stored {stored}/{len(numbers)}, distinct numbers {distinct}/{len(numbers)}   (must be all)")
    server.should_exit = True

    words = vocabulary(args.vocabulary)
    print(f"\nKnowledge-base search over {args.articles:,} articles (vocabulary of {len(words):,} words)")
    documents = fill_articles(database, args.articles, words)
    rng = random.Random(9)
    queries = ["".join(rng.sample(WORDS, 2)) + rng.choice(["怎么办", "在哪里办", "多久", ""]) for _ in range(500)]
    spent, agree = [], 0
    with database.session() as s:
        knowledge.search(s, queries[0])  # warm the caches once
        for query in queries:
            start = time.perf_counter()
            hits = knowledge.search(s, query, limit=10)
            spent.append((time.perf_counter() - start) * 1000)
    print(
        f"  {len(queries)} queries: p50 {statistics.median(spent):.1f} ms   p95 {percentile(spent, 0.95):.1f} ms   "
        f"p99 {percentile(spent, 0.99):.1f} ms   target p99 < 50 ms"
    )
    reference = []
    with database.session() as s:
        for query in queries[:20]:
            start = time.perf_counter()
            shared = scan(documents, query)
            reference.append((time.perf_counter() - start) * 1000)
            hits = knowledge.search(s, query, limit=1)
            agree += bool(hits) and shared[hits[0].article.id] == max(shared.values())
    print(
        f"  reference full scan in Python: p50 {statistics.median(reference):.0f} ms per query; "
        f"our best hit shares the most query terms any article shares: {agree}/20"
    )
    database.dispose()


if __name__ == "__main__":
    main()
