#!/usr/bin/env python3
"""Loopback HTTP benchmark: the example server against a bare axum baseline.

Builds both in release mode, provisions 10,000 users, captures one response of each kind
from the SCIM server for the baseline to replay, then runs wrk (32 connections, 2 threads)
against each server for GET by id, filter by userName, a page of 100, create and PATCH
(of users spread over the 10,000).

    python3 benches/http/run.py [seconds per run, default 10] [memory|sqlite|postgres|postgres2, default memory]

`postgres` runs the server on PostgreSQL (`SCIM_DATABASE_URL`, the schema
`scimkit_http_bench` made afresh on 127.0.0.1:5432, or in the settings `SCIMKIT_PG`
gives); `postgres2` runs two servers on that database and splits wrk's connections
between them (their requests per second summed, the first's latencies shown).

Needs wrk (Debian package `wrk`). Prints a Markdown table of requests per second and latencies
(average, and the 99th percentile in parentheses).
"""

import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = "bench-key-0123456789"
SCIM = "127.0.0.1:18080"
BASE = "127.0.0.1:18081"
REPLICA = "127.0.0.1:18082"
USERS = 10_000
SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
STORE = sys.argv[2] if len(sys.argv) > 2 else "memory"


def start(binary, addr, env):
    proc = subprocess.Popen(
        [os.path.join(ROOT, "target", "release", binary)],
        env={**os.environ, "SCIM_ADDR": addr, **env},
        stdout=subprocess.PIPE,
    )
    proc.stdout.readline()  # the server is listening
    return proc


def call(conn, method, path, body=None):
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/scim+json"}
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    return response.status, response.read()


LUA_POST = """
local n = 0
local id = 0
local run = ""
function setup(thread) id = id + 1; thread:set("tid", id) end
function init(args) run = args[1] or "" end
request = function()
  n = n + 1
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"wrk-' .. run .. tid .. '-' .. n .. '@example.com","name":{"givenName":"W","familyName":"Rk"},"active":true}'
  return wrk.format("POST", "/scim/v2/Users", nil, body)
end
"""

LUA_PATCH = """
local ids = {%s}
local n = 0
local id = 0
function setup(thread) id = id + 1; thread:set("tid", id) end
request = function()
  n = n + 1
  local target = ids[((n * 7919 + tid * 104729) %% #ids) + 1]
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"t' .. n .. '"}]}'
  return wrk.format("PATCH", "/scim/v2/Users/" .. target, nil, body)
end
"""


def wrk(addr, path, script=None):
    return wrk_split([addr], path, script)


def wrk_split(addrs, path, script=None):
    """wrk's 2 threads and 32 connections split between the servers at `addrs`, at once."""
    procs = []
    for i, addr in enumerate(addrs):
        args = ["wrk", f"-t{2 // len(addrs)}", f"-c{32 // len(addrs)}", f"-d{SECONDS}s", "--latency",
                "-H", f"Authorization: Bearer {KEY}", "-H", "Content-Type: application/scim+json"]
        if script:
            args += ["-s", script]
        # Each wrk names its creates apart (the script's first argument).
        url = [f"http://{addr}{path}", "--", f"r{i}-"]
        procs.append((addr, subprocess.Popen(args + url, stdout=subprocess.PIPE, text=True)))
    results = [parse(addr, path, proc.communicate()[0]) for addr, proc in procs]
    return sum(r[0] for r in results), results[0][1]


def parse(addr, path, out):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"{addr}{path}: {errors.group(1)} non-2xx responses\n{out}")
    latency = re.search(r"Latency\s+(\S+)", out).group(1)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    return rps, f"{latency} (p99 {p99})"


def main():
    subprocess.run(["cargo", "build", "--release", "-p", "scimkit-example-server", "--example", "server"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "-p", "scimkit-benches", "--bin", "baseline"], cwd=ROOT, check=True)
    tmp = tempfile.mkdtemp()
    if STORE.startswith("postgres"):
        settings = os.environ.get("SCIMKIT_PG", "host=127.0.0.1 port=5432 user=postgres dbname=test")
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", settings,
                        "-c", "DROP SCHEMA IF EXISTS scimkit_http_bench CASCADE",
                        "-c", "CREATE SCHEMA scimkit_http_bench"],
                       env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}, check=True)
        store = {"SCIM_DATABASE_URL": f"{settings} options='-c search_path=scimkit_http_bench'"}
    else:
        store = {"SCIM_DB": ":memory:" if STORE == "memory" else os.path.join(tmp, "scim.db")}
    # Entra ID's profile answers PATCH with 204; the activity lines are not printed.
    env = {"SCIM_API_KEY": KEY, "SCIM_IDP": "entra", "SCIM_LOG": "off", **store}
    scim = start(os.path.join("examples", "server"), SCIM, env)
    replicas = [SCIM]
    second = None
    if STORE == "postgres2":
        second = start(os.path.join("examples", "server"), REPLICA, env)
        replicas.append(REPLICA)
    try:
        conn = http.client.HTTPConnection(SCIM)
        first = None
        ids = []
        for i in range(USERS):
            status, body = call(conn, "POST", "/scim/v2/Users", {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"user{i}@example.com", "externalId": f"ext-{i}",
                "name": {"givenName": "User", "familyName": str(i)},
                "emails": [{"value": f"user{i}@example.com", "type": "work", "primary": True}],
                "active": True})
            assert status == 201, body
            ids.append(json.loads(body)["id"])
            if i == USERS // 2:
                first = ids[-1]
        paths = {
            "get": f"/scim/v2/Users/{first}",
            "filter": f"/scim/v2/Users?filter=userName%20eq%20%22user{USERS // 2}%40example.com%22",
            "page": "/scim/v2/Users?startIndex=4001&count=100",
        }
        for name, path in paths.items():
            status, body = call(conn, "GET", path)
            assert status == 200, body
            open(os.path.join(tmp, f"{name}.json"), "wb").write(body)
        status, body = call(conn, "POST", "/scim/v2/Users", {"userName": "captured@example.com"})
        open(os.path.join(tmp, "create.json"), "wb").write(body)
        status, body = call(conn, "PATCH", paths["get"], {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "captured"}]})
        open(os.path.join(tmp, "patch.json"), "wb").write(body)
        post = os.path.join(tmp, "post.lua")
        open(post, "w").write(LUA_POST)
        patch = os.path.join(tmp, "patch.lua")
        open(patch, "w").write(LUA_PATCH % ",".join(f'"{i}"' for i in ids))
        base = start("baseline", BASE, {"BASELINE_DIR": tmp})
        try:
            rows = []
            for label, path, script in [
                ("GET by id", paths["get"], None),
                ("filter userName eq", paths["filter"], None),
                ("page of 100", paths["page"], None),
                ("PATCH (replace title, any user)", paths["get"], patch),
                ("create (POST)", "/scim/v2/Users", post),
            ]:
                s_rps, s_lat = wrk_split(replicas, path, script)
                b_rps, b_lat = wrk(BASE, path, script)
                rows.append((label, s_rps, s_lat, b_rps, b_lat))
        finally:
            base.kill()
        print(f"| request | scimkit req/s | latency | bare axum req/s | latency | ratio |")
        print(f"|---|---:|---:|---:|---:|---:|")
        for label, s_rps, s_lat, b_rps, b_lat in rows:
            print(f"| {label} | {s_rps:,.0f} | {s_lat} | {b_rps:,.0f} | {b_lat} | {s_rps / b_rps:.2f} |")
    finally:
        scim.kill()
        if second:
            second.kill()


if __name__ == "__main__":
    main()
