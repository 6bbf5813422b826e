#!/usr/bin/env python3
"""A bot backend's call to handrail serve, with the Python standard library only.

Runs a sample conversation against a started server and prints what the bot must do at each message:
    handrail serve --listen 127.0.0.1:8787 &
    python3 examples/serve/client.py http://127.0.0.1:8787
Set HANDRAIL_TOKEN when the server was started with --token-file. Exits non-zero if a decision is not the
one this sample expects, so a test can run it.
"""

import json
import os
import sys
import time
import urllib.error
import urllib.request

BASE = (sys.argv[1] if len(sys.argv) > 1 else os.environ.get("HANDRAIL_URL", "http://127.0.0.1:8787")).rstrip("/")
TOKEN = os.environ.get("HANDRAIL_TOKEN")


def call(method, path, body=None):
    """One request; returns (status, parsed JSON body). Retries 429 and 503 as the server's Retry-After asks."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if TOKEN:
        headers["Authorization"] = "Bearer " + TOKEN
    for attempt in range(5):
        request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            if error.code in (429, 503) and attempt < 4:
                time.sleep(float(error.headers.get("Retry-After", "1")))
                continue
            return error.code, json.load(error)
    raise RuntimeError("unreachable")


def decide(event):
    status, decision = call("POST", "/v1/decide", event)
    if status == 503 and "decision" in decision:
        # The log could not record a decision: follow the fail-safe (a person), never answer.
        return decision["decision"]
    if status not in (200, 400):
        raise SystemExit(f"{status}: {decision.get('error')}")
    return decision if status == 200 else decision["decision"]


def main():
    conversation = f"py-{os.getpid()}"
    sample = [
        ({"text": "Hi! What are your opening hours?", "confidence": 0.92}, "answer"),
        ({"text": "can I talk to a real person please", "confidence": 0.95}, "handoff"),
        ({"text": "hello? still there?", "confidence": 0.9}, "hold"),
        ({"type": "agent_joined"}, "hold"),
        ({"type": "hand_back"}, "answer"),
    ]
    wrong = 0
    for event, expected in sample:
        event = dict(event, conversation=conversation)
        decision = decide(event)
        said = " ".join(decision.get("say", []))
        print(f"{event.get('text', event.get('type')):40} -> {decision['action']:8} {said}")
        if decision["action"] != expected:
            print(f"  expected {expected}", file=sys.stderr)
            wrong += 1
    status, state = call("GET", f"/v1/conversations/{conversation}")
    print(f"state: {state['state']['phase']} after {state['state']['turn']} messages")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
