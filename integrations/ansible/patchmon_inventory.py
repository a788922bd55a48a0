#!/usr/bin/env python3
"""Ansible dynamic inventory for a PatchMon server (Python 3 standard library only).

Usage:
    export PATCHMON_URL=https://patchmon.example.com
    export PATCHMON_API_KEY=patchmon_ae_...     # an "API" credential with scope host: get
    export PATCHMON_API_SECRET=...
    ansible-inventory -i patchmon_inventory.py --list
    ansible all -i patchmon_inventory.py -m ping

Optional environment:
    PATCHMON_VERIFY_SSL=false   accept self-signed certificates
    PATCHMON_HOSTGROUP=a,b      only hosts in these PatchMon host groups (names or ids)
    PATCHMON_TIMEOUT=30         seconds
    PATCHMON_INCLUDE_PENDING=true   also list hosts that have not reported yet

Inventory layout: each host is named by its reported hostname (the friendly
name while it has not reported), with ansible_host set to its IP address.
Every PatchMon host group becomes an Ansible group (lowercased, characters
other than letters, digits and _ replaced by _), plus the groups
patchmon_needs_updates, patchmon_security_updates and patchmon_needs_reboot.
Host variables: patchmon_id, patchmon_friendly_name, patchmon_os,
patchmon_updates, patchmon_security_updates, patchmon_needs_reboot,
patchmon_status.
"""

import base64
import json
import os
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request


def fail(message):
    print(f"patchmon_inventory: {message}", file=sys.stderr)
    sys.exit(1)


def env_flag(name, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def group_name(name):
    cleaned = re.sub(r"[^a-z0-9_]", "_", name.strip().lower())
    if not cleaned or cleaned[0].isdigit():
        cleaned = "group_" + cleaned
    return cleaned


def fetch_hosts():
    url = os.environ.get("PATCHMON_URL", "").rstrip("/")
    key = os.environ.get("PATCHMON_API_KEY", "")
    secret = os.environ.get("PATCHMON_API_SECRET", "")
    if not url or not key or not secret:
        fail("PATCHMON_URL, PATCHMON_API_KEY and PATCHMON_API_SECRET must be set")
    query = {"include": "stats"}
    if os.environ.get("PATCHMON_HOSTGROUP"):
        query["hostgroup"] = os.environ["PATCHMON_HOSTGROUP"]
    request = urllib.request.Request(
        f"{url}/api/v1/api/hosts?{urllib.parse.urlencode(query)}",
        headers={
            "Accept": "application/json",
            "Authorization": "Basic "
            + base64.b64encode(f"{key}:{secret}".encode()).decode(),
        },
    )
    context = None
    if url.startswith("https://") and not env_flag("PATCHMON_VERIFY_SSL", True):
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        timeout = float(os.environ.get("PATCHMON_TIMEOUT", "30"))
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return json.load(response)
    except urllib.error.HTTPError as e:
        try:
            body = json.load(e)
            detail = body.get("error", "")
            if body.get("message"):
                detail += f": {body['message']}"
        except Exception:  # noqa: BLE001 - any unreadable body
            detail = e.reason
        fail(f"{url} answered HTTP {e.code}: {detail}")
    except (urllib.error.URLError, OSError, ValueError) as e:
        fail(f"cannot read hosts from {url}: {e}")


def build(payload):
    include_pending = env_flag("PATCHMON_INCLUDE_PENDING", False)
    inventory = {"_meta": {"hostvars": {}}, "all": {"children": ["ungrouped"]}, "ungrouped": {"hosts": []}}
    seen = set()
    for host in payload.get("hosts") or []:
        hostname = (host.get("hostname") or "").strip()
        if not hostname and not include_pending:
            continue
        name = hostname or (host.get("friendly_name") or "").strip()
        if not name:
            continue
        if name in seen:
            name = f"{name}-{str(host.get('id', ''))[:8]}"
        seen.add(name)
        hostvars = {
            "patchmon_id": host.get("id"),
            "patchmon_friendly_name": host.get("friendly_name"),
            "patchmon_os": " ".join(
                p for p in (host.get("os_type"), host.get("os_version")) if p
            ),
            "patchmon_updates": host.get("updates_count", 0),
            "patchmon_security_updates": host.get("security_updates_count", 0),
            "patchmon_needs_reboot": bool(host.get("needs_reboot")),
            "patchmon_status": host.get("effective_status") or host.get("status"),
        }
        if host.get("ip"):
            hostvars["ansible_host"] = host["ip"]
        inventory["_meta"]["hostvars"][name] = hostvars
        groups = [group_name(g["name"]) for g in host.get("host_groups") or [] if g.get("name")]
        if host.get("updates_count"):
            groups.append("patchmon_needs_updates")
        if host.get("security_updates_count"):
            groups.append("patchmon_security_updates")
        if host.get("needs_reboot"):
            groups.append("patchmon_needs_reboot")
        if not groups:
            inventory["ungrouped"]["hosts"].append(name)
        for g in groups:
            if g not in inventory:
                inventory[g] = {"hosts": []}
                inventory["all"]["children"].append(g)
            if name not in inventory[g]["hosts"]:
                inventory[g]["hosts"].append(name)
    return inventory


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        print(json.dumps(build(fetch_hosts()), indent=2, sort_keys=True))
    elif len(argv) == 3 and argv[1] == "--host":
        # Everything is in _meta.hostvars; Ansible does not call this then.
        print(json.dumps({}))
    else:
        print("usage: patchmon_inventory.py --list | --host <name>", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
