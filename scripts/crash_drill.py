#!/usr/bin/env python3
"""Crash drill (issue 8): load of issue + scan + claim on loopback while the server is
SIGKILLed and restarted on the same data directory, CYCLES times. After each restart:

  - PRAGMA integrity_check is ok, and `mashangban audit verify` is ok;
  - every scan and claim the client saw a 2xx for has its submission, pending or delivered;
  - no code or window session was accepted twice (each token is also scanned twice at once);
  - no submission is dead (the demo's stand-in approval system takes them all).

Standard library only. Run through scripts/crash-drill.sh."""
import argparse, json, os, random, signal, socket, sqlite3, subprocess, sys, tempfile, threading, time
import http.client, urllib.error, urllib.request

PERSON = "430405198501011235"  # the demo's 王一静
ITEM = "sb-transfer"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, data, port):
        self.binary, self.data, self.port = binary, data, port
        self.base = f"http://127.0.0.1:{port}"
        self.process = None

    def start(self):
        log = open(os.path.join(os.path.dirname(self.data), "server.log"), "ab")
        self.process = subprocess.Popen(
            [self.binary, "serve", "--data", self.data, "--port", str(self.port), "--demo",
             "--rate-limit", "all=off", "--log-level", "error"],
            stdout=log, stderr=log)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if call(self.base, "GET", "/readyz", None, None)[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited with {self.process.returncode}; see server.log")
            time.sleep(0.05)
        raise SystemExit("the server did not become ready")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def call(base, method, path, token, body, timeout=10, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


class Drill:
    def __init__(self, binary, data, server):
        self.binary, self.data, self.server = binary, data, server
        self.accepted = {}     # submission id -> how it came (2xx seen by the client)
        self.accepted_tokens = {}  # token -> 2xx count
        self.lock = threading.Lock()
        self.requests = 0
        env = dict(line.strip().split("=", 1) for line in open(os.path.join(data, "demo", "clients.env")) if "=" in line)
        self.app, self.terminal = env["APP"].strip("'\""), env["TERMINAL"].strip("'\"")
        self.key = os.path.join(data, "demo", "face-auth-stub.pem")

    def consent(self):
        base = self.server.base
        status, session = call(base, "POST", "/v1/holder-sessions", self.app,
                               {"holder": PERSON, "attestation": self.seen("holder_session")})
        assert status == 201, session
        status, wallet = call(base, "GET", f"/v1/holders/{PERSON}/wallet", self.app, None,
                              headers={"MSB-Holder-Session": session["token"]})
        assert status == 200, wallet
        licences = [entry["id"] for entry in wallet["wallet"]]
        status, consent = call(base, "POST", "/v1/consents", self.app,
                               {"holder": PERSON, "attestation": self.seen("consent"), "licences": licences, "item": ITEM})
        assert status == 201, consent
        return consent["id"]

    def seen(self, purpose):
        """A face check of the person for `purpose`: a challenge, and the stand-in provider's attestation."""
        status, challenge = call(self.server.base, "POST", "/v1/face-auth/challenges", self.app,
                                 {"subject": PERSON, "purpose": purpose})
        assert status == 201, challenge
        return subprocess.run(
            [self.binary, "face-auth-stub", "sign", "--key", self.key, "--sub", PERSON, f"--nonce={challenge['nonce']}"],
            check=True, capture_output=True, text=True).stdout.strip()

    def note(self, token, submission, how):
        with self.lock:
            self.accepted[submission] = how
            self.accepted_tokens[token] = self.accepted_tokens.get(token, 0) + 1

    def worker(self, consent, stop, seed):
        rng = random.Random(seed)
        base = self.server.base
        while not stop.is_set():
            try:
                if rng.random() < 0.7:  # 一码出示: a code, scanned twice at once (one must win)
                    status, code = call(base, "POST", "/v1/presentations", self.app, {"consent": consent})
                    if status != 201:
                        continue
                    results = []
                    def scan():
                        try:
                            results.append(call(base, "POST", "/v1/scans", self.terminal, {"token": code["token"], "item": ITEM}))
                        except (OSError, ValueError, http.client.HTTPException):
                            pass  # the server went down mid-request: no answer, nothing to hold it to
                    twins = [threading.Thread(target=scan) for _ in range(2)]
                    [t.start() for t in twins]
                    [t.join() for t in twins]
                    for status, answer in results:
                        if status == 201:
                            self.note(code["token"], answer["submission"], "scan")
                else:  # 一码获取: a window session, claimed
                    status, session = call(base, "POST", "/v1/window-sessions", self.terminal, {"item": ITEM})
                    if status != 201:
                        continue
                    status, claim = call(base, "POST", "/v1/window-sessions/claim", self.app,
                                         {"token": session["token"], "consent": consent})
                    if status == 200:
                        self.note(session["token"], claim["submission"], "claim")
                with self.lock:
                    self.requests += 1
            except (OSError, ValueError, http.client.HTTPException):
                time.sleep(0.01)  # the server is down: wait for the drill to stop us

    def check(self):
        problems = []
        database = os.path.join(self.data, "mashangban.sqlite")
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
        try:
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            if integrity != "ok":
                problems.append(f"integrity_check: {integrity}")
            statuses = dict(db.execute("SELECT id, status FROM submissions"))
            twice = db.execute("""SELECT COUNT(*) FROM (SELECT presentation_id FROM submissions WHERE presentation_id IS NOT NULL
                                  GROUP BY presentation_id HAVING COUNT(*) > 1)""").fetchone()[0]
            twice += db.execute("""SELECT COUNT(*) FROM (SELECT window_session_id FROM submissions WHERE window_session_id IS NOT NULL
                                   GROUP BY window_session_id HAVING COUNT(*) > 1)""").fetchone()[0]
        finally:
            db.close()
        if twice:
            problems.append(f"{twice} codes or sessions have more than one submission")
        with self.lock:
            missing = [s for s in self.accepted if s not in statuses]
            doubled = [t for t, n in self.accepted_tokens.items() if n > 1]
        if missing:
            problems.append(f"{len(missing)} submissions the client saw accepted are missing, e.g. {missing[0]}")
        if doubled:
            problems.append(f"{len(doubled)} tokens were accepted twice")
        bad = {s: st for s, st in statuses.items() if st not in ("pending", "delivered")}
        if bad:
            problems.append(f"{len(bad)} submissions are neither pending nor delivered: {sorted(set(bad.values()))}")
        verify = subprocess.run([self.binary, "audit", "verify", "--data", self.data], capture_output=True, text=True)
        if verify.returncode != 0:
            problems.append("audit verify: " + (verify.stdout + verify.stderr).strip())
        return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    arguments = parser.parse_args()
    work = tempfile.mkdtemp(prefix="msb-crash-drill-")
    data = os.path.join(work, "data")
    server = Server(os.path.abspath(arguments.bin), data, free_port())
    server.start()
    drill = Drill(server.binary, data, server)
    failed = False
    try:
        for cycle in range(1, arguments.cycles + 1):
            consent = drill.consent()
            stop = threading.Event()
            workers = [threading.Thread(target=drill.worker, args=(consent, stop, cycle * 100 + i)) for i in range(arguments.workers)]
            [w.start() for w in workers]
            time.sleep(random.uniform(0.5, 1.5))
            server.kill()
            stop.set()
            [w.join() for w in workers]
            server.start()
            problems = drill.check()
            print(f"cycle {cycle}: killed under load; {len(drill.accepted)} submissions accepted so far, "
                  f"{drill.requests} flows; " + ("ok" if not problems else "PROBLEMS"), flush=True)
            for problem in problems:
                print("  " + problem, flush=True)
            failed = failed or bool(problems)
            if problems:
                break
    finally:
        if server.process and server.process.poll() is None:
            server.kill()
    print(f"crash drill: {'FAILED' if failed else 'passed'} ({work})")
    if not failed:
        subprocess.run(["rm", "-rf", work])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
