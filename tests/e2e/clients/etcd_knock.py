"""Knocks on etcd from wherever it runs (a database container's network namespace): prints one
JSON line {"URL how": "ok" | the error} for each way of asking. Only the last way, with berth's
client certificate and signed in as one of berth's etcd users, may read anything."""
import json
import ssl
import sys
import urllib.request

ca, cert, key, user, password, *members = sys.argv[1:]
body = json.dumps({"key": "L2JlcnRoLw==", "range_end": "L2JlcnRoMA=="}).encode()  # /berth/


def sign_in(url, context):
    req = urllib.request.Request(url + "/v3/auth/authenticate", method="POST",
                                 data=json.dumps({"name": user, "password": password}).encode())
    with urllib.request.urlopen(req, context=context, timeout=3) as r:
        return json.loads(r.read())["token"]


def ask(url, context, signed_in=False):
    try:
        headers = {"Authorization": sign_in(url, context)} if signed_in else {}
        req = urllib.request.Request(url + "/v3/kv/range", data=body, method="POST",
                                     headers=headers)
        with urllib.request.urlopen(req, context=context, timeout=3) as r:
            return "ok" if "kvs" in json.loads(r.read()) else "no keys"
    except Exception as e:  # what went wrong is the answer
        return type(e).__name__ + ": " + str(e)[:80]


anonymous = ssl.create_default_context(cafile=ca)
unverified = ssl._create_unverified_context()
berth = ssl.create_default_context(cafile=ca)
berth.load_cert_chain(cert, key)
answers = {}
for m in members:
    answers[m + " plain"] = ask(m.replace("https://", "http://"), None)
    answers[m + " no certificate"] = ask(m, anonymous)
    answers[m + " unverified"] = ask(m, unverified)
    answers[m + " certificate alone"] = ask(m, berth)
    answers[m + " berth"] = ask(m, berth, signed_in=True)
print(json.dumps(answers))
