#!/usr/bin/env python3
"""Upsert the sample orgs of scripts/sample-orgs.json into dynabase.organizations.

Run with the stack's virtualenv: .venv/bin/python scripts/seed-orgs.py [--port 27117]
scripts/stack.sh runs it on every `up` that includes mongo, so the four sample orgs are
always in the state the JSON file describes (tests that change an org's tier should
use orgIds of their own).

The JSON holds dates as ISO-8601 strings (JSON has no date type); the seed's org
document (section 2.1) stores them as ISODate, so they are converted to BSON dates.
"""
import argparse
import datetime
import json
import os
import pathlib
import sys

from pymongo import ASCENDING, MongoClient

# Dotted paths of the fields that are dates in the org document.
DATE_FIELDS = ("tierUpdatedAt", "subscription.currentPeriodEnd")


def parse_iso8601(text: str) -> datetime.datetime:
    # fromisoformat accepts a trailing "Z" from Python 3.11 on; replace it for older ones.
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"date without a time zone: {text!r}")
    return value.astimezone(datetime.timezone.utc)


def with_bson_dates(org: dict) -> dict:
    for path in DATE_FIELDS:
        *parents, leaf = path.split(".")
        node = org
        for key in parents:
            node = node.get(key) or {}
        if isinstance(node.get(leaf), str):
            node[leaf] = parse_iso8601(node[leaf])
    return org


def main() -> int:
    here = pathlib.Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("TIERGATE_MONGO_PORT", "27117")))
    parser.add_argument("--file", type=pathlib.Path, default=here / "sample-orgs.json")
    args = parser.parse_args()

    orgs = [with_bson_dates(org) for org in json.loads(args.file.read_text())]

    client = MongoClient(args.host, args.port, serverSelectionTimeoutMS=5000, tz_aware=True)
    organizations = client["dynabase"]["organizations"]
    # The tier lookup is findOne({orgId}) (seed section 2.2): one org per orgId.
    organizations.create_index([("orgId", ASCENDING)], unique=True, name="orgId_unique")
    for org in orgs:
        # replace_one keeps the document's _id but drops fields a test may have added.
        organizations.replace_one({"orgId": org["orgId"]}, org, upsert=True)

    seeded = organizations.count_documents({"orgId": {"$in": [o["orgId"] for o in orgs]}})
    if seeded != len(orgs):
        print(f"seed-orgs: expected {len(orgs)} orgs, found {seeded}", file=sys.stderr)
        return 1
    print(f"[stack] seeded {seeded} orgs into dynabase.organizations: "
          + ", ".join(f"{o['orgId']}={o['tier']}" for o in orgs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
