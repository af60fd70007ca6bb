#!/usr/bin/env python3
"""Drive fake_google with Google's own Gmail client and google-auth.

Run by tests/fake_google_python.rs, which starts the fake, delivers messages
and passes what it delivered in the environment:

  FAKE_URL      http://127.0.0.1:PORT (no trailing slash)
  SA_KEY_PATH   service-account JSON written from FakeGoogle::service_account_json()
  USER_EMAIL    the mailbox to impersonate (domain-wide delegation)
  PROBE_EXPECT  JSON: {"start_history_id": "N",
                       "messages": [{"id", "subject", "message_id", "raw_b64"}],
                       "attachment": {"message": id, "filename", "data_b64"}}

It goes through token, users.getProfile, messages.list (paging and q),
messages.get (metadata, full, raw), history.list, attachments.get, a batch
with one unknown id, drafts.create in a thread and messages.send, asserting
real data at each step. On success it prints ONE JSON line (the summary,
including how many calls of each Gmail method it made) and exits 0; on any
mismatch it prints "gmail_probe: <what>" to stderr and exits 1. Missing
packages exit 3 with the pip command to run.

Two facts about google-api-python-client 2.202 this relies on:
- client_options api_endpoint replaces rootUrl+servicePath for ordinary
  calls, but new_batch_http_request() still builds its URI from the
  discovery document's rootUrl + batchPath ("https://gmail.googleapis.com/batch"),
  so the batch is built with BatchHttpRequest(batch_uri=FAKE_URL + "/batch").
- google-auth's service-account credentials with a subject always exchange
  a JWT at the key file's token_uri (aud "https://oauth2.googleapis.com/token").
"""

import base64
import collections
import json
import os
import sys

try:
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account
    from googleapiclient.discovery import build
    from googleapiclient.errors import HttpError
    from googleapiclient.http import BatchHttpRequest
except ImportError as exc:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        "gmail_probe: missing Python packages (%s): "
        "pip install -r tests/python/requirements.txt\n" % exc
    )
    sys.exit(3)

SCOPES = [
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/gmail.compose",
]
UNKNOWN_ID = "fffffffffffffff0"


class ProbeFailure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise ProbeFailure(what)


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def header(payload, name):
    for h in payload.get("headers", []):
        if h["name"].lower() == name.lower():
            return h["value"]
    return None


def find_part(part, pred):
    if pred(part):
        return part
    for child in part.get("parts", []):
        found = find_part(child, pred)
        if found:
            return found
    return None


class Probe:
    def __init__(self, env):
        self.fake = env["FAKE_URL"].rstrip("/")
        self.user = env["USER_EMAIL"]
        self.expect = json.loads(env["PROBE_EXPECT"])
        self.key_path = env["SA_KEY_PATH"]
        self.calls = collections.Counter()
        self.summary = {}

    def token(self):
        creds = service_account.Credentials.from_service_account_file(
            self.key_path, scopes=SCOPES, subject=self.user
        )
        with open(self.key_path) as f:
            token_uri = json.load(f).get("token_uri")
        check(
            token_uri == self.fake + "/token",
            "token_uri in the key file should be the fake's /token, got %r" % token_uri,
        )
        creds.refresh(Request())
        self.calls["token"] += 1
        check(bool(creds.token), "token endpoint returned no access_token")
        check(creds.expiry is not None, "token response had no expires_in")
        self.creds = creds
        self.service = build(
            "gmail",
            "v1",
            credentials=creds,
            static_discovery=True,
            cache_discovery=False,
            client_options={"api_endpoint": self.fake + "/"},
        )
        self.users = self.service.users()

    def profile(self):
        p = self.users.getProfile(userId="me").execute()
        self.calls["users.getProfile"] += 1
        check(p.get("emailAddress") == self.user, "getProfile emailAddress %r" % p)
        check(isinstance(p.get("historyId"), str) and p["historyId"].isdigit(),
              "historyId should be a decimal string: %r" % p)
        check(p.get("messagesTotal") == len(self.expect["messages"]),
              "messagesTotal %r, delivered %d" % (p.get("messagesTotal"), len(self.expect["messages"])))
        self.history_id = int(p["historyId"])
        check(self.history_id > int(self.expect["start_history_id"]),
              "historyId did not advance past the pre-delivery id")
        self.summary["history_id"] = p["historyId"]

    def list_pages(self):
        want = {m["id"] for m in self.expect["messages"]}
        req = self.users.messages().list(userId="me", maxResults=2)
        seen, pages = [], 0
        while req is not None:
            resp = req.execute()
            self.calls["users.messages.list"] += 1
            pages += 1
            batch = resp.get("messages", [])
            check(len(batch) <= 2, "page larger than maxResults=2: %d" % len(batch))
            check(all(m.get("threadId") for m in batch), "listed message without threadId")
            seen.extend(m["id"] for m in batch)
            req = self.users.messages().list_next(req, resp)
        check(len(seen) == len(set(seen)), "a message was listed twice: %r" % seen)
        check(set(seen) == want, "listed %r, delivered %r" % (sorted(seen), sorted(want)))
        check(pages >= 2, "expected paging with maxResults=2, got %d page(s)" % pages)
        first = self.expect["messages"][0]
        resp = self.users.messages().list(userId="me", q="rfc822msgid:<%s>" % first["message_id"]).execute()
        self.calls["users.messages.list"] += 1
        got = [m["id"] for m in resp.get("messages", [])]
        check(got == [first["id"]], "q=rfc822msgid found %r, want [%r]" % (got, first["id"]))
        self.summary.update(listed=len(seen), pages=pages)

    def get_formats(self):
        self.threads = {}
        for m in self.expect["messages"]:
            meta = self.users.messages().get(
                userId="me", id=m["id"], format="metadata", metadataHeaders=["Subject", "From"]
            ).execute()
            self.calls["users.messages.get"] += 1
            names = {h["name"].lower() for h in meta["payload"].get("headers", [])}
            check(names <= {"subject", "from"} and "subject" in names,
                  "metadataHeaders=[Subject, From] returned %r" % sorted(names))
            check(header(meta["payload"], "Subject") == m["subject"],
                  "Subject %r, delivered %r" % (header(meta["payload"], "Subject"), m["subject"]))
            check("parts" not in meta["payload"] and "data" not in meta["payload"].get("body", {}),
                  "format=metadata carried body content")
            check(meta.get("internalDate", "").isdigit(), "internalDate should be epoch ms as a string")
            raw = self.users.messages().get(userId="me", id=m["id"], format="raw").execute()
            self.calls["users.messages.get"] += 1
            check(b64url_decode(raw["raw"]) == base64.b64decode(m["raw_b64"]),
                  "format=raw bytes differ from what was delivered for %s" % m["id"])
            self.threads[m["id"]] = meta["threadId"]
        self.full_and_attachment()

    def full_and_attachment(self):
        att = self.expect["attachment"]
        full = self.users.messages().get(userId="me", id=att["message"], format="full").execute()
        self.calls["users.messages.get"] += 1
        payload = full["payload"]
        check(payload.get("partId") == "", "root partId should be \"\", got %r" % payload.get("partId"))
        check(payload["mimeType"].startswith("multipart/"), "root mimeType %r" % payload["mimeType"])
        check(full.get("snippet"), "format=full had no snippet")
        part = find_part(payload, lambda p: p.get("filename") == att["filename"])
        check(part is not None, "no part with filename %r" % att["filename"])
        aid = part["body"].get("attachmentId")
        check(aid, "attachment part has no attachmentId: %r" % part["body"])
        body = self.users.messages().attachments().get(userId="me", messageId=att["message"], id=aid).execute()
        self.calls["users.messages.attachments.get"] += 1
        data = b64url_decode(body["data"])
        check(data == base64.b64decode(att["data_b64"]), "attachment bytes differ")
        check(body.get("size") == len(data) == part["body"].get("size"),
              "attachment size %r / part size %r / bytes %d" % (body.get("size"), part["body"].get("size"), len(data)))
        self.summary["attachment_bytes"] = len(data)

    def history(self):
        added, pages = [], 0
        req = self.users.history().list(
            userId="me", startHistoryId=self.expect["start_history_id"], historyTypes="messageAdded"
        )
        while req is not None:
            resp = req.execute()
            self.calls["users.history.list"] += 1
            pages += 1
            check(int(resp["historyId"]) >= self.history_id, "history historyId went backwards")
            for rec in resp.get("history", []):
                added.extend(a["message"]["id"] for a in rec.get("messagesAdded", []))
            req = self.users.history().list_next(req, resp)
        want = [m["id"] for m in self.expect["messages"]]
        check(sorted(added) == sorted(want), "history messagesAdded %r, delivered %r" % (added, want))
        self.summary["history_added"] = len(added)

    def batch(self):
        results = {}

        def on_reply(request_id, response, exception):
            results[request_id] = (response, exception)

        # The client's own batch ignores api_endpoint (see the module doc):
        # record where it would have gone, then post the same kind of batch
        # to the fake.
        self.summary["client_batch_uri"] = self.service.new_batch_http_request()._batch_uri
        batch = BatchHttpRequest(callback=on_reply, batch_uri=self.fake + "/batch")
        ids = [m["id"] for m in self.expect["messages"]] + [UNKNOWN_ID]
        for mid in ids:
            batch.add(self.users.messages().get(userId="me", id=mid, format="metadata",
                                                metadataHeaders=["Subject"]), request_id=mid)
        batch.execute()
        self.calls["batch"] += 1
        self.calls["users.messages.get"] += len(ids)
        check(set(results) == set(ids), "batch answered %r, asked %r" % (sorted(results), sorted(ids)))
        errors = {k: e for k, (_, e) in results.items() if e is not None}
        check(list(errors) == [UNKNOWN_ID], "batch errors on %r, want only the unknown id" % list(errors))
        err = errors[UNKNOWN_ID]
        check(isinstance(err, HttpError) and err.resp.status == 404,
              "unknown id should be a 404 HttpError, got %r" % err)
        for m in self.expect["messages"]:
            got = header(results[m["id"]][0]["payload"], "Subject")
            check(got == m["subject"], "batch Subject %r, want %r" % (got, m["subject"]))
        self.summary.update(batch_ok=len(ids) - 1, batch_404=1)

    def draft_and_send(self):
        first = self.expect["messages"][0]
        thread = self.threads[first["id"]]
        reply = (
            "From: %s\r\nTo: %s\r\nSubject: Re: %s\r\nIn-Reply-To: <%s>\r\nReferences: <%s>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nThanks, noted.\r\n"
            % (self.user, "sender@acme.test", first["subject"], first["message_id"], first["message_id"])
        ).encode()
        draft = self.users.drafts().create(
            userId="me", body={"message": {"raw": b64url(reply), "threadId": thread}}
        ).execute()
        self.calls["users.drafts.create"] += 1
        check(draft.get("id"), "drafts.create returned no draft id: %r" % draft)
        check(draft["message"].get("threadId") == thread,
              "draft joined thread %r, want %r" % (draft["message"].get("threadId"), thread))
        note = (
            "From: %s\r\nTo: %s\r\nSubject: probe digest\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nInternal only.\r\n" % (self.user, self.user)
        ).encode()
        sent = self.users.messages().send(userId="me", body={"raw": b64url(note)}).execute()
        self.calls["users.messages.send"] += 1
        check(sent.get("id") and sent.get("threadId"), "send returned %r" % sent)
        check("SENT" in sent.get("labelIds", []), "sent message lacks the SENT label: %r" % sent)
        self.summary.update(draft_id=draft["id"], draft_thread_id=thread, sent_id=sent["id"],
                            sent_raw_b64=base64.b64encode(note).decode())

    def run(self):
        for step in (self.token, self.profile, self.list_pages, self.get_formats,
                     self.history, self.batch, self.draft_and_send):
            self.step = step.__name__
            step()
        self.summary["ok"] = True
        self.summary["calls"] = dict(self.calls)
        return self.summary


def main():
    missing = [k for k in ("FAKE_URL", "SA_KEY_PATH", "USER_EMAIL", "PROBE_EXPECT") if not os.environ.get(k)]
    if missing:
        sys.stderr.write("gmail_probe: missing environment variables: %s\n" % ", ".join(missing))
        return 2
    probe = Probe(os.environ)
    try:
        summary = probe.run()
    except ProbeFailure as exc:
        sys.stderr.write("gmail_probe: step %s: %s\n" % (getattr(probe, "step", "?"), exc))
        return 1
    except HttpError as exc:
        sys.stderr.write("gmail_probe: step %s: HTTP %s from %s: %s\n"
                         % (getattr(probe, "step", "?"), exc.resp.status, exc.uri, exc.content[:500]))
        return 1
    except Exception as exc:  # the client library raising is a finding too
        sys.stderr.write("gmail_probe: step %s: %s: %s\n"
                         % (getattr(probe, "step", "?"), type(exc).__name__, exc))
        return 1
    print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
