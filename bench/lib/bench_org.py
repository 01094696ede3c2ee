"""The org the gating path runs as: an ENTERPRISE org of the benchmark's own in the stack's
MongoDB (dynabase.organizations, as scripts/seed-orgs.py writes the sample orgs), routed
to the benchmark's database so pgbench finds its tables there.

Its own orgId, never a sample org's: tests may rely on the sample orgs' state, and the
benchmark must not depend on theirs. ENTERPRISE allows 100 connections, room for the 16
pgbench clients plus the latency client."""

import datetime
import subprocess

from services import BenchError, HOST

TIER = "ENTERPRISE"
MAX_CONNECTIONS = 100  # the built-in matrix's ENTERPRISE ceiling (TierMatrix+BuiltIn.swift)


def org_id(profile):
    return f"org_{profile.database}"


def ensure_bench_org(mongo_port, redis_port, org, database):
    """Upserts the org document and drops any cached tier of it in Redis, so the proxy reads
    the document as written now (a previous run may have cached another route)."""
    try:
        from pymongo import MongoClient
    except ImportError as error:
        raise BenchError(f"pymongo is missing from the project's .venv ({error}); "
                         "scripts/stack.sh up mongo installs it") from error
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    document = {
        "orgId": org,
        "tier": TIER,
        "tierUpdatedAt": now,
        "subscription": {"stripeSubscriptionId": f"sub_{org}", "plan": "enterprise_annual",
                         "status": "active",
                         "currentPeriodEnd": datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)},
        "addons": [],
        # The bench logs in as services.APP_USER; the document must list that role.
        "postgres": {"database": database, "roles": ["app"]},
    }
    client = MongoClient(HOST, mongo_port, serverSelectionTimeoutMS=5000, tz_aware=True)
    try:
        client["dynabase"]["organizations"].replace_one({"orgId": org}, document, upsert=True)
    finally:
        client.close()
    result = subprocess.run(["redis-cli", "-h", HOST, "-p", str(redis_port), "DEL", f"tier:{org}"],
                            capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise BenchError(f"redis-cli DEL tier:{org} failed: {result.stderr.strip() or result.stdout.strip()}")


def write_tiers_without_connect_rate(binary, path):
    """A --tiers file: the built-in matrix (`tiergate tiers`) with the bench org's tier's
    connect rate lifted out of the way. The benchmarks measure what a connection costs; at
    ENTERPRISE's 100 connects per second the churn and connect figures would measure the
    rate limit instead (it refuses with 53300 past it, as it should)."""
    import json
    matrix = json.loads(subprocess.run([binary, "tiers"], check=True, capture_output=True, text=True).stdout)
    matrix[TIER]["postgres"].update(connectRate=1000000, connectBurst=1000000)
    with open(path, "w") as file:
        json.dump(matrix, file)
    return path
