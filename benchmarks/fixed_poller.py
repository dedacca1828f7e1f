"""The naive clients of the baselines: F exports in flight under a semaphore, each polled on a
schedule that starts at `interval` seconds and grows by `growth` after every poll.

    python fixed_poller.py BASE_URL JOBS_JSON --in-flight 50 --interval 5 --out DIR
    python fixed_poller.py BASE_URL JOBS_JSON --in-flight 100 --interval 0.3 --growth 1.5 --out DIR

JOBS_JSON is a list of {"export_id", "start_ms", "end_ms"}. What a competent afternoon's asyncio
client does: create, sleep, poll status until a downloadUrl appears, follow the 307 without
credentials, stream the file (no hashing, no fsync, no journal). With `--growth 1` it is the fixed
poller (Airbyte's async job orchestrator polls every 5 s); with `--interval 0.3 --growth 1.5` the
naive client of issue 18. No retries: the benchmark's fake injects no faults. Prints a JSON line
{"exports", "failed"}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

USER, PASSWORD, COMPANY_KEY = "demo", "demo-password", "demo-company"
PREFIX = "/api/public/reports/report/"


def job_info(body: dict[str, Any]) -> tuple[str, str]:
    """(downloadUrl, detail) of a status answer, whose result is an object or a list of one."""
    result = body["result"]
    if isinstance(result, list):
        result = result[0]
    return result["jobInfo"].get("downloadUrl") or "", (result.get("result") or {}).get(
        "detail"
    ) or ""


async def one(
    session: aiohttp.ClientSession,
    base: str,
    job: dict[str, Any],
    schedule: tuple[float, float],
    out: Path,
) -> bool:
    auth = aiohttp.BasicAuth(USER, PASSWORD)
    query = urlencode(
        {
            "reportFormat": "csv",
            "locale": "en_US",
            "companyKey": COMPANY_KEY,
            "startTime": job["start_ms"],
            "endTime": job["end_ms"],
        }
    )
    async with session.get(f"{base}{PREFIX}{job['export_id']}?{query}", auth=auth) as answer:
        status_url = (await answer.json(content_type=None))["result"]["statusUrl"]
    interval, growth = schedule
    while True:
        await asyncio.sleep(interval)
        interval *= growth
        async with session.get(status_url, auth=auth) as answer:
            download_url, detail = job_info(await answer.json(content_type=None))
        if download_url:
            break
        if detail == "FAILED":
            return False
    async with session.get(download_url, auth=auth, allow_redirects=False) as answer:
        location = answer.headers["Location"]
    target = out / f"{job['export_id']}-{job['start_ms']}.csv"
    async with session.get(location) as answer:
        with target.open("wb") as handle:
            async for chunk in answer.content.iter_chunked(1 << 16):
                handle.write(chunk)
    return answer.status == 200


async def main(options: argparse.Namespace, jobs: list[dict[str, Any]], out: Path) -> None:
    limit = asyncio.Semaphore(options.in_flight)

    async def guarded(session: aiohttp.ClientSession, job: dict[str, Any]) -> bool:
        async with limit:
            schedule = (options.interval, options.growth)
            return await one(session, options.base_url, job, schedule, out)

    connector = aiohttp.TCPConnector(limit=options.in_flight)
    async with aiohttp.ClientSession(connector=connector) as session:
        done = await asyncio.gather(*(guarded(session, job) for job in jobs))
    print(json.dumps({"exports": len(done), "failed": done.count(False)}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("jobs")
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds before the first poll")
    parser.add_argument("--growth", type=float, default=1.0, help="each wait is the last x this")
    parser.add_argument("--out", required=True)
    arguments = parser.parse_args()
    folder = Path(arguments.out)
    folder.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(arguments, json.loads(Path(arguments.jobs).read_text()), folder))
