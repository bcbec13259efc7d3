"""A continuous Redis writer for failover tests and benchmarks: SET then WAIT 1 100 on the
database address, reconnecting on any error. Records which writes were acknowledged by a
replica (durable) and the longest gap between accepted writes."""
import socket
import threading
import time


def resp(*args):
    out = f"*{len(args)}\r\n"
    for a in args:
        a = str(a)
        out += f"${len(a.encode())}\r\n{a}\r\n"
    return out.encode()


class Connection:
    def __init__(self, address, password, port=6379, timeout=0.3, auth=True):
        self.sock = socket.create_connection((address, port), timeout=timeout)
        self.buf = b""
        if auth and self.call("AUTH", password) != "OK":
            raise ConnectionError("AUTH refused")

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def _reply(self):
        line = self._line()
        kind, rest = line[0], line[1:]
        if kind == "+":
            return rest
        if kind == "-":
            raise RuntimeError(rest)
        if kind == ":":
            return int(rest)
        if kind == "$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed")
                self.buf += chunk
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode()
        if kind == "*":
            return [self._reply() for _ in range(int(rest))]
        raise ConnectionError("bad reply " + line)

    def call(self, *args):
        self.sock.sendall(resp(*args))
        return self._reply()

    def close(self):
        self.sock.close()


class Writer(threading.Thread):
    def __init__(self, address, password, prefix="w", ring=None):
        """address: the database address, or a function that says where the primary is
        now (a Sentinel client asks Sentinel after every error). ring: write over that many
        keys again and again (a long run would fill the database), each value the write's
        number, so a key read back with a smaller number lost the later write."""
        super().__init__(daemon=True)
        self.address, self.password, self.prefix, self.ring = address, password, prefix, ring
        self.accepted = []  # (time, key) of every SET answered OK
        self.durable = []   # keys whose WAIT saw a replica
        self.durable_numbers = []  # and the number each of those writes wrote
        self.errors = 0
        self.running = True

    def run(self):
        conn, i = None, 0
        self.conn = None
        while self.running:
            try:
                if conn is None:
                    address = self.address() if callable(self.address) else self.address
                    if address is None:
                        raise ConnectionError("no primary known")
                    conn = self.conn = Connection(address, self.password)
                key = f"{self.prefix}{i % self.ring if self.ring else i}"
                if conn.call("SET", key, i) == "OK":
                    self.accepted.append((time.monotonic(), key))
                    if conn.call("WAIT", 1, 100) >= 1:
                        self.durable.append(key)
                        self.durable_numbers.append(i)
                i += 1
            except (OSError, ConnectionError, RuntimeError):
                self.errors += 1
                if conn:
                    conn.close()
                conn = None
                i += 1
                time.sleep(0.01)  # a failed connect must not spin the CPU

    def stop(self):
        self.running = False
        self.join(5)
        if self.conn:
            self.conn.close()

    def gap_around(self, moment):
        """Milliseconds without an accepted write across moment: the longest pause between
        two accepted writes, the first of them at most 1 s before moment (a reply can arrive
        just after the cut for a write the old primary took just before it)."""
        times = [t for t, _ in self.accepted if t > moment - 1.0]
        if len(times) < 2:
            return None
        return max(b - a for a, b in zip(times, times[1:])) * 1000

    def _missing_at(self, address, password):
        conn = Connection(address, password, timeout=5)
        try:
            keys = sorted(set(self.durable))
            found = {}
            # MGET in batches: one round trip per thousand keys, not per key (a long chaos
            # run reads back millions).
            for start in range(0, len(keys), 1000):
                batch = keys[start:start + 1000]
                found.update(zip(batch, conn.call("MGET", *batch)))
            # Every value compared: a key holding an older write, or another writer's value,
            # lost this one (a later write of the same key is the only thing that may replace
            # it, and writes only count up).
            return [k for k, i in zip(self.durable, self.durable_numbers)
                    if not (found[k] or "").isdigit() or int(found[k]) < i
                    or (not self.ring and int(found[k]) != i)]
        finally:
            conn.close()

    def missing(self, address, password, instances=(), within=10):
        """Durable writes not readable, with the value written, at the address; and, for each
        instance address given, on that instance itself (a replica given within seconds to
        catch up), as "ADDRESS:KEY"."""
        missing = self._missing_at(address, password)
        for instance in instances:
            deadline = time.monotonic() + within
            while True:
                try:
                    lost = self._missing_at(instance, password)
                except (OSError, ConnectionError, RuntimeError) as e:
                    lost = [f"(unreadable: {e})"]
                if not lost or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            missing += [f"{instance}:{k}" for k in lost]
        return missing


def write_taken_by(address, password, key, value):
    """The run_id of the Redis process at address if it took SET key value; None if it did not
    (refused, paused past 200 ms, or out of reach)."""
    try:
        conn = Connection(address, password, timeout=0.2)
        try:
            info = conn.call("INFO", "server")
            run_id = next(line.split(":", 1)[1] for line in info.split("\r\n")
                          if line.startswith("run_id:"))
            return run_id if conn.call("SET", key, value) == "OK" else None
        finally:
            conn.close()
    except (OSError, ConnectionError, RuntimeError, StopIteration):
        return None


class Checker(threading.Thread):
    """Writes to every instance address in turn and records which Redis process (run_id)
    accepted each write: two processes accepting writes over the same span of time would be
    two primaries at once."""

    def __init__(self, addresses, password):
        super().__init__(daemon=True)
        self.addresses, self.password = list(addresses), password
        self.accepted = []  # (time, address, run_id)
        self.running = True

    def run(self):
        i = 0
        while self.running:
            for address in self.addresses:
                run_id = write_taken_by(address, self.password, f"checker{i % 1000}", i)
                if run_id:
                    self.accepted.append((time.monotonic(), address, run_id))
                i += 1
            time.sleep(0.02)

    def stop(self):
        self.running = False
        self.join(5)

    def spans(self):
        """run_id -> (first, last) time it accepted a write."""
        spans = {}
        for t, _, run_id in self.accepted:
            first, last = spans.get(run_id, (t, t))
            spans[run_id] = (min(first, t), max(last, t))
        return spans

    def overlaps(self):
        """Pairs of processes whose spans of accepted writes overlap."""
        spans = sorted(self.spans().items(), key=lambda kv: kv[1][0])
        return [(a, b) for (a, (_, a_last)), (b, (b_first, _)) in zip(spans, spans[1:])
                if b_first <= a_last]
