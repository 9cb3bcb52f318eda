"""Runs the scim2-tester compliance checks against a SCIM server; exits 1 unless all pass.

    python scim2_check.py BASE_URL TOKEN
"""
import sys
from collections import Counter

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

base, token = sys.argv[1], sys.argv[2]
client = SyncSCIMClient(Client(base_url=base, headers={"Authorization": f"Bearer {token}"}))
results = check_server(client)
counts = Counter(r.status.name for r in results)
failed = [r for r in results if r.status not in (Status.SUCCESS, Status.SKIPPED)]
for r in failed:
    print(f"{r.status.name}: {r.title}: {r.reason}")
print(f"scim2-tester: {counts.get('SUCCESS', 0)} passed, {len(failed)} failed, {counts.get('SKIPPED', 0)} skipped")
sys.exit(1 if failed or not results else 0)
