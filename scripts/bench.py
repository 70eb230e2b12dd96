"""The measuring half of scripts/bench (run that, not this file).

Starts private worlds (a D-Bus session bus with no service activation, a
throwaway unlocked gnome-keyring or a headless KeePassXC over a throwaway
database, a temporary HOME with its own XDG directories and git
configuration), times one helper process per
operation for each contender, interleaved and paired round by round, and
prints Markdown tables of medians, ratios and targets.

Standard library only. Everything it starts is stopped on exit, on error
and on Ctrl-C.
"""

import argparse
import base64
import json
import os
import platform
import re
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

KEYRING_PASSWORD = b"bench"
KEEPASSXC_PASSWORD = "bench"
# The settings of ../shared/secret-services/with-keepassxc: the Secret
# Service integration on, no confirmations, no notifications, no tray.
KEEPASSXC_INI = """[General]
ConfigVersion=2
RememberLastDatabases=false
SingleInstance=false
UpdateCheckMessageShown=true

[FdoSecrets]
Enabled=true
ShowNotification=false
ConfirmAccessItem=false
ConfirmDeleteItem=false
UnlockBeforeSearch=false

[GUI]
CheckForUpdates=false
MinimizeOnStartup=false
ShowTrayIcon=false
"""
SCALES = (1, 100, 1_000, 10_000)
KERNEL_SCALE = 10_000
MAX_ROUNDS = 1000
MEMORY_RUNS = 5

# What `get` is asked, the way git 2.46+ asks over HTTP.
CAPABILITIES = "capability[]=authtype\ncapability[]=state\n"

TARGETS = {
    "get": 0.35,  # patrol/libsecret, get hit
    "get_keepassxc": 0.75,  # the same on KeePassXC
    "store": 0.5,  # patrol unchanged store / libsecret unchanged store
    "scale": 1.3,  # patrol get with 10,000 / with one
    "scale_miss": 1.1,  # patrol get (miss) with 10,000 / with one
    "scale_store": 1.5,  # patrol store (new) with 10,000 / with one, on the kernel keyring
    "own_ms": 0.2,  # patrol's own share of a get (hit) or a store (new) with 10,000, beyond one
    "rss_kb": 10 * 1024,
    "rebuild_s": 10.0,  # a lost index rebuilt from 10,000 credentials, in seconds
}

# How many credentials the rebuild part stores (`--rebuild-count`), and how
# many times it loses and rebuilds the index.
REBUILD_SCALE = 10_000
REBUILD_ROUNDS = 3
# Credentials imported by one process while filling.
REBUILD_IMPORT = 250

# A get's own share is a few tenths of a millisecond inside a process whose
# other thread is busy with D-Bus: several traced gets a round steady its
# median.
OWN_SAMPLES = 3


def progress(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def token(n):
    """An obviously fake token."""
    return f"ghp_TEST{n:032d}"


def request(host, username=None, password=None, capabilities=False, state=None):
    lines = [CAPABILITIES.rstrip("\n")] if capabilities else []
    lines += ["protocol=https", f"host={host}"]
    if username is not None:
        lines.append(f"username={username}")
    if password is not None:
        lines.append(f"password={password}")
    if state is not None:
        lines.append(f"state[]={state}")
    return ("\n".join(lines) + "\n\n").encode()


class Run:
    __slots__ = ("ns", "code", "out", "err")

    def __init__(self, ns, code, out, err):
        self.ns, self.code, self.out, self.err = ns, code, out, err


def run_timed(argv, env, cwd, data):
    """Runs one process to its end, feeding `data` on stdin. The time is
    from just before the spawn to the reaping of the child."""
    start = time.perf_counter_ns()
    child = subprocess.Popen(
        argv,
        env=env,
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = bytearray(), bytearray()
    with selectors.DefaultSelector() as sel:
        sel.register(child.stdout, selectors.EVENT_READ, out)
        sel.register(child.stderr, selectors.EVENT_READ, err)
        if data:
            sel.register(child.stdin, selectors.EVENT_WRITE, None)
        else:
            child.stdin.close()
        view, deadline = memoryview(data), time.monotonic() + 120
        while sel.get_map():
            if time.monotonic() > deadline:
                child.kill()
                raise RuntimeError(f"{argv[0]} ran for more than 120 s")
            for key, _ in sel.select(timeout=1):
                if key.fileobj is child.stdin:
                    try:
                        written = os.write(child.stdin.fileno(), view[:65536])
                    except BrokenPipeError:
                        written = len(view)
                    view = view[written:]
                    if not view:
                        sel.unregister(child.stdin)
                        child.stdin.close()
                    continue
                chunk = os.read(key.fileobj.fileno(), 65536)
                if chunk:
                    key.data.extend(chunk)
                else:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
    _, status = os.waitpid(child.pid, 0)
    elapsed = time.perf_counter_ns() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return Run(elapsed, child.returncode, bytes(out), bytes(err))


class World:
    """A private HOME, D-Bus session bus and unlocked Secret Service:
    gnome-keyring, or KeePassXC when `provider` says so."""

    def __init__(self, root, name, provider="gnome-keyring"):
        self.provider = provider
        self.dir = Path(root) / name
        self.home = self.dir / "home"
        runtime = self.dir / "run"
        self.home.mkdir(parents=True)
        runtime.mkdir(mode=0o700)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local/share"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_RUNTIME_DIR": str(runtime),
            "GIT_CONFIG_GLOBAL": str(self.home / ".gitconfig"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "false",
            "LANG": "C",
            "LC_ALL": "C",
        }
        (self.home / ".gitconfig").write_text("")
        self.daemons = []

    def start(self, login=True):
        # No <servicedir>: D-Bus activation can start nothing, so no daemon
        # outlives the run.
        conf = self.dir / "bus.conf"
        conf.write_text(
            '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
            ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
            "<busconfig>\n"
            "  <type>session</type>\n"
            f"  <listen>unix:path={self.dir / 'bus'}</listen>\n"
            '  <policy context="default">\n'
            '    <allow send_destination="*" eavesdrop="true"/>\n'
            '    <allow eavesdrop="true"/>\n'
            '    <allow own="*"/>\n'
            "  </policy>\n"
            "</busconfig>\n"
        )
        bus = subprocess.Popen(
            ["dbus-daemon", "--nofork", "--print-address=1", f"--config-file={conf}"],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.daemons.append(bus)
        address = bus.stdout.readline().decode().strip()
        bus.stdout.close()
        if not address:
            raise RuntimeError("dbus-daemon printed no address")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address
        if self.provider == "keepassxc":
            self.start_keepassxc()
            return
        # Its messages are kept: they are the only clue when it dies.
        with open(self.dir / "keyring.log", "wb") as log:
            keyring = subprocess.Popen(
                ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                env=self.env,
                cwd=self.home,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
            )
        self.daemons.append(keyring)
        # Without a password on its stdin, it makes no login keyring.
        if login:
            keyring.stdin.write(KEYRING_PASSWORD)
        keyring.stdin.close()
        self.wait_for_name("org.freedesktop.secrets")

    def start_keepassxc(self):
        """KeePassXC the way with-keepassxc starts it, over a database
        whose group `SecretService` is exposed."""
        db = self.dir / "db.kdbx"
        make_kdbx(self.dir, db, self.env)
        config = self.home / ".config" / "keepassxc"
        config.mkdir(parents=True, exist_ok=True)
        (config / "keepassxc.ini").write_text(KEEPASSXC_INI)
        with open(self.dir / "keepassxc.log", "wb") as log:
            keepassxc = subprocess.Popen(
                ["keepassxc", "--pw-stdin", str(db)],
                env={**self.env, "QT_QPA_PLATFORM": "offscreen"},
                cwd=self.home,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
            )
        self.daemons.append(keepassxc)
        keepassxc.stdin.write(f"{KEEPASSXC_PASSWORD}\n".encode())
        keepassxc.stdin.close()
        self.wait_for_name("org.freedesktop.secrets")
        # KeePassXC owns the name before it has unlocked the database; a new
        # item before then would wait for an unlock dialog nobody sees.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            out = subprocess.run(
                [
                    "dbus-send",
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.secrets",
                    "/org/freedesktop/secrets/collection/db",
                    "org.freedesktop.DBus.Properties.Get",
                    "string:org.freedesktop.Secret.Collection",
                    "string:Locked",
                ],
                env=self.env,
                capture_output=True,
                text=True,
            ).stdout
            if "boolean false" in out:
                return
            time.sleep(0.05)
        raise RuntimeError("KeePassXC never unlocked its database")

    def wait_for_name(self, name):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            out = subprocess.run(
                [
                    "dbus-send",
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    f"string:{name}",
                ],
                env=self.env,
                capture_output=True,
                text=True,
            ).stdout
            if "boolean true" in out:
                return
            time.sleep(0.02)
        raise RuntimeError(f"{name} never appeared on the private bus")

    def keep_in_memory(self):
        """Makes every helper keep its items in the keyring's in-memory
        `session` collection. gnome-keyring rewrites the whole login keyring
        file on every change, so filling it with 10,000 items one by one
        would take hours; the session collection is searched and read by
        the same code, only never written to disk. The world's keyring has
        no login keyring (`start` gave it no password), its `default` alias
        is pointed at `session` for libsecret, and patrol, which writes only
        where tokens last unless told otherwise, is told
        `patrol.allowMemoryOnly`."""
        subprocess.run(
            [
                "dbus-send",
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.SetAlias",
                "string:default",
                "objpath:/org/freedesktop/secrets/collection/session",
            ],
            env=self.env,
            capture_output=True,
            check=True,
        )
        subprocess.run(
            ["git", "config", "--global", "patrol.allowMemoryOnly", "true"],
            env=self.env,
            check=True,
        )
        # Filling a keyring to 10,000 items on a busy machine can stall
        # gnome-keyring for longer than patrol's headless default of 5 s;
        # a bench measures time, so it waits.
        subprocess.run(
            ["git", "config", "--global", "patrol.keychainTimeout", "60s"],
            env=self.env,
            check=True,
        )

    def stop(self):
        for daemon in reversed(self.daemons):
            if daemon.poll() is None:
                daemon.terminate()
                try:
                    daemon.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    daemon.wait()
        self.daemons.clear()

    def run(self, argv, data):
        return run_timed(argv, self.env, self.home, data)



class BareClient:
    """A Secret Service client that sends exactly the calls it is told to
    over one connection it opened beforehand, with a plain session: what
    gnome-keyring alone costs for an operation, whichever helper asks. It
    gives the floors of the scale and rebuild parts."""

    SERVICE = "/org/freedesktop/secrets"
    COLLECTION = "/org/freedesktop/secrets/collection/session"

    def __init__(self, world):
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection
        from jeepney.low_level import HeaderFields, MessageType

        self.address, self.method = DBusAddress, new_method_call
        self.reply_serial, self.error = HeaderFields.reply_serial, MessageType.error
        self.conn = open_dbus_connection(bus=world.env["DBUS_SESSION_BUS_ADDRESS"])
        _, self.session = self.call(self.SERVICE, "Service", "OpenSession", "sv", ("plain", ("s", "")))

    def message(self, path, interface, name, signature, args):
        if "." not in interface:
            interface = f"org.freedesktop.Secret.{interface}"
        at = self.address(path, bus_name="org.freedesktop.secrets", interface=interface)
        return self.method(at, name, signature, args)

    def call(self, path, interface, name, signature, args):
        reply = self.conn.send_and_get_reply(self.message(path, interface, name, signature, args), timeout=600)
        if reply.header.message_type == self.error:
            raise RuntimeError(f"{name}: {reply.body}")
        return reply.body

    def pipelined(self, messages, window=64):
        """The replies' bodies, in order, to `messages` sent `window` at a
        time: no round trip is waited for while the daemon has work."""
        replies, waiting, queue = [None] * len(messages), {}, list(enumerate(messages))
        queue.reverse()
        while queue or waiting:
            while queue and len(waiting) < window:
                at, message = queue.pop()
                serial = next(self.conn.outgoing_serial)
                self.conn.send(message, serial=serial)
                waiting[serial] = at
            reply = self.conn.receive(timeout=600)
            answered = reply.header.fields.get(self.reply_serial)
            if answered in waiting:
                if reply.header.message_type == self.error:
                    raise RuntimeError(f"a pipelined call failed: {reply.body}")
                replies[waiting.pop(answered)] = reply.body
        return replies

    def create(self, service, username, secret):
        """A new item, as a helper's `store` makes one, with no search
        first: its path, and the seconds `CreateItem` took."""
        attributes = {"application": "bench", "service": service, "username": username}
        properties = {
            "org.freedesktop.Secret.Item.Label": ("s", service),
            "org.freedesktop.Secret.Item.Attributes": ("a{ss}", attributes),
        }
        started = time.perf_counter_ns()
        item, _ = self.call(
            self.COLLECTION,
            "Collection",
            "CreateItem",
            "a{sv}(oayays)b",
            (properties, (self.session, b"", secret.encode(), "text/plain"), False),
        )
        return item, time.perf_counter_ns() - started

    def delete(self, item):
        self.call(item, "Item", "Delete", "", ())

    def read_every_item(self, application):
        """What any rebuild must ask of the keychain: one search for the
        items of `application`, each item's attributes (pipelined), and
        their secrets (a thousand to a `GetSecrets`). The item count, the
        nanoseconds in all, and those of the search and the attributes."""
        started = time.perf_counter_ns()
        unlocked, locked = self.call(self.SERVICE, "Service", "SearchItems", "a{ss}", ({"application": application},))
        items = unlocked + locked
        get = ("org.freedesktop.Secret.Item", "Attributes")
        self.pipelined([self.message(i, "org.freedesktop.DBus.Properties", "Get", "ss", get) for i in items])
        listed = time.perf_counter_ns() - started
        for first in range(0, len(items), 1000):
            self.call(self.SERVICE, "Service", "GetSecrets", "aoo", (items[first : first + 1000], self.session))
        return len(items), time.perf_counter_ns() - started, listed

    def close(self):
        self.conn.close()


def make_kdbx(work, db, env):
    """A KeePassXC database at `db` whose group `SecretService` is exposed
    over the Secret Service (database custom data FDO_SECRETS_EXPOSED_GROUP
    = the group's UUID in braces), made with keepassxc-cli."""
    base, xml_path = work / "base.kdbx", work / "exposed.xml"
    twice = f"{KEEPASSXC_PASSWORD}\n{KEEPASSXC_PASSWORD}\n"
    once = f"{KEEPASSXC_PASSWORD}\n"

    def cli(args, stdin):
        return subprocess.run(
            ["keepassxc-cli", *args],
            input=stdin,
            env={**env, "QT_QPA_PLATFORM": "offscreen"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    cli(["db-create", "-q", "-p", "-t", "100", str(base)], twice)
    cli(["mkdir", "-q", str(base), "SecretService"], once)
    xml = cli(["export", "-q", "-f", "xml", str(base)], once)
    b64 = re.search(r"<UUID>([^<]+)</UUID>\s*<Name>SecretService</Name>", xml).group(1)
    group = "{%s}" % uuid.UUID(bytes=base64.b64decode(b64))
    item = f"<CustomData><Item><Key>FDO_SECRETS_EXPOSED_GROUP</Key><Value>{group}</Value></Item></CustomData>"
    if "<CustomData/>" in xml.split("</Meta>")[0]:
        xml = xml.replace("<CustomData/>", item, 1)
    else:
        xml = xml.replace("</Meta>", item + "</Meta>", 1)
    xml_path.write_text(xml)
    cli(["import", "-q", "-p", "-t", "100", str(xml_path), str(db)], twice)
    xml_path.unlink()


class Contender:
    def __init__(self, name, program, helper_config):
        self.name = name
        self.program = program
        # The value of credential.helper that makes git use it.
        self.helper_config = helper_config


class Bench:
    def __init__(self, args, root, tools):
        self.args = args
        self.root = root
        self.patrol = Contender("patrol", tools["patrol"], tools["patrol"])
        self.libsecret = Contender("libsecret", tools["libsecret"], tools["libsecret"])
        self.store = Contender("credential-store", tools["credential-store"], "store")
        self.contenders = [self.patrol, self.libsecret, self.store]
        self.worlds = []
        # Worlds kept in memory live on a tmpfs when there is one: filling
        # them writes the index 10,000 times, and each write is synced.
        self.memory_root = root
        if os.access("/dev/shm", os.W_OK):
            self.memory_root = tempfile.mkdtemp(prefix="patrol-bench", dir="/dev/shm")
        # (table, row, contender) -> list of nanoseconds / list of KB
        self.times = {}
        self.rss = {}
        # Helpers whose keyring died while the scale part filled it.
        self.gone = []

    def world(self, name, in_memory=False, provider="gnome-keyring"):
        world = World(self.memory_root if in_memory else self.root, name, provider)
        self.worlds.append(world)
        world.start(login=not in_memory)
        if in_memory:
            world.keep_in_memory()
        return world

    def stop(self):
        for world in self.worlds:
            world.stop()
        if self.memory_root != self.root:
            shutil.rmtree(self.memory_root, ignore_errors=True)

    def helper(self, world, contender, op, data, expect=None, row=None):
        result = world.run([contender.program, op], data)
        check(result, contender.name, op, expect)
        if row is not None:
            self.times.setdefault(row, []).append(result.ns)
        return result

    def peak_rss(self, world, contender, op, data, row):
        """The peak RSS of one helper process, in KB, by GNU time. (The
        rusage Python could read itself would count the Python process the
        child was forked from.)"""
        out = Path(world.dir) / "rss"
        argv = ["/usr/bin/time", "-f", "%M", "-o", str(out), contender.program, op]
        check(world.run(argv, data), contender.name, op, None)
        self.rss.setdefault(row, []).append(int(out.read_text().split()[-1]))

    def memory(self, world, rows):
        """`rows`: (row, op, {contender: data}); MEMORY_RUNS each, interleaved."""
        for i in range(MEMORY_RUNS):
            for row, op, inputs in rows:
                for c in rotate(self.contenders, i):
                    if c.name in inputs:
                        self.peak_rss(world, c, op, inputs[c.name](i), ("rss", row, c.name))

    def fill(self, world, contender, data, expect, row):
        argv = [
            "git",
            "-c",
            "credential.helper=",
            "-c",
            f"credential.helper={contender.helper_config}",
            "credential",
            "fill",
        ]
        result = world.run(argv, data)
        check(result, contender.name, "git credential fill", expect)
        if row is not None:
            self.times.setdefault(row, []).append(result.ns)

    # The peers table: one world, every operation, every contender.
    def peers(self):
        world = self.world("peers")
        hit, user = "hit.example.com", "alice"
        secret = token(1)
        for c in self.contenders:
            self.helper(world, c, "store", request(hit, user, secret))
        # Patrol's state[] for the stored credential, as git would hand it back.
        answer = self.helper(
            world, self.patrol, "get", request(hit, capabilities=True), secret
        )
        state = re.search(rb"^state\[\]=(.*)$", answer.out, re.M)
        if not state:
            raise RuntimeError("patrol's get answered no state[] to capability[]=state")
        state = state.group(1).decode()

        rounds = self.args.rounds
        progress(f"peers: {rounds} rounds of 7 operations x 3 helpers (+1 warm-up round)")
        for i in range(rounds + 1):
            record = i > 0  # round 0 warms the caches up and is not counted
            order = rotate(self.contenders, i)
            for c in order:
                row = ("peers", "get (hit)", c.name) if record else None
                self.helper(world, c, "get", request(hit, capabilities=True), secret, row)
            for c in order:
                row = ("peers", "get (miss)", c.name) if record else None
                self.helper(world, c, "get", request("miss.example.com", capabilities=True), b"", row)
            for c in order:
                row = ("peers", "store (unchanged)", c.name) if record else None
                self.helper(world, c, "store", request(hit, user, secret, capabilities=True), None, row)
            row = ("peers", "store (unchanged, state[] handed back)", "patrol") if record else None
            self.helper(
                world,
                self.patrol,
                "store",
                request(hit, user, secret, capabilities=True, state=state),
                None,
                row,
            )
            for c in order:
                new = f"new-{i}.{c.name}.example.com"
                row = ("peers", "store (new)", c.name) if record else None
                self.helper(world, c, "store", request(new, user, token(100 + i), capabilities=True), None, row)
            for c in order:
                new = f"new-{i}.{c.name}.example.com"
                row = ("peers", "erase", c.name) if record else None
                self.helper(world, c, "erase", request(new, user, token(100 + i)), None, row)
            for c in order:
                row = ("peers", "git credential fill", c.name) if record else None
                self.fill(world, c, request(hit, capabilities=True), secret, row)
            if i and i % 10 == 0:
                progress(f"peers: round {i}/{rounds}")
        all3 = ("patrol", "libsecret", "credential-store")
        progress(f"peers: peak memory, {MEMORY_RUNS} runs of each")
        self.memory(
            world,
            [
                ("get", "get", {n: lambda i: request(hit, capabilities=True) for n in all3}),
                ("store (unchanged)", "store", {n: lambda i: request(hit, user, secret) for n in all3}),
                (
                    "store (unchanged, state[] handed back)",
                    "store",
                    {"patrol": lambda i: request(hit, user, secret, capabilities=True, state=state)},
                ),
                ("store (new)", "store", {n: lambda i: request(f"mem-{i}.example.com", user, secret) for n in all3}),
                ("erase", "erase", {n: lambda i: request(f"mem-{i}.example.com", user, secret) for n in all3}),
            ],
        )
        # Every erase really erased: the new hosts are gone.
        for c in self.contenders:
            gone = self.helper(world, c, "get", request(f"new-1.{c.name}.example.com"))
            if gone.out.strip():
                raise RuntimeError(f"{c.name}: an erased credential is still there")
        world.stop()

    # `get` on KeePassXC, patrol against libsecret on the same provider.
    def keepassxc(self):
        world = self.world("keepassxc", provider="keepassxc")
        pair = [self.patrol, self.libsecret]
        hit, user, secret = "hit.example.com", "alice", token(1)
        for c in pair:
            self.helper(world, c, "store", request(hit, user, secret))
        rounds = self.args.rounds
        progress(f"keepassxc: {rounds} rounds of get (hit and miss) x 2 helpers (+1 warm-up round)")
        for i in range(rounds + 1):
            record = i > 0
            for c in rotate(pair, i):
                row = ("keepassxc", "get (hit)", c.name) if record else None
                self.helper(world, c, "get", request(hit, capabilities=True), secret, row)
            for c in rotate(pair, i):
                row = ("keepassxc", "get (miss)", c.name) if record else None
                self.helper(world, c, "get", request("miss.example.com", capabilities=True), b"", row)
        world.stop()

    # `get` with many stored credentials, paired with a world that has one.
    # Each helper has worlds of its own, so that N credentials are N items
    # in its keyring, whatever the other helper stores; a helper whose
    # keyring daemon dies drops out, and the others go on.
    def scale(self, report):
        pair = [self.patrol, self.libsecret]
        one = {c.name: self.world(f"scale-one-{c.name}", in_memory=True) for c in pair}
        many = {c.name: self.world(f"scale-many-{c.name}", in_memory=True) for c in pair}
        user, secret = "alice", token(1)
        hit = "hit.example.com"
        for c in pair:
            self.helper(one[c.name], c, "store", request(hit, user, secret))
            self.helper(many[c.name], c, "store", request(hit, user, secret))
        bare = {n: BareClient(many["patrol"] if n > 1 else one["patrol"]) for n in (1, 10_000)}
        stored = 1
        alive = list(pair)
        scales = [n for n in SCALES if n > 1 and (n < 10_000 or not self.args.quick)]
        for target in scales:
            for gone in self.populate(many, alive, stored, target):
                progress(str(gone))
                self.gone.append(gone)
                alive.remove(gone.contender)
            if self.patrol not in alive:
                break
            stored = target
            progress(
                f"scale: timing get (hit, miss) and store (new) with {target} credentials, "
                f"{self.args.rounds} rounds"
            )
            for i in range(self.args.rounds + 1):
                for c in rotate(alive, i):
                    for world, n in rotate([(one[c.name], 1), (many[c.name], target)], i):
                        # The world with one is keyed by the level it is paired with.
                        level = (1, target) if n == 1 else target

                        def row(what):
                            return (what, level, c.name) if i else None

                        self.helper(world, c, "get", request(hit, capabilities=True), secret, row("scale"))
                        self.helper(
                            world, c, "get", request("miss.example.com", capabilities=True), b"", row("scale-miss")
                        )
                        new = request(f"new-{target}-{i}.example.com", user, token(i), capabilities=True)
                        self.helper(world, c, "store", new, None, row("scale-store"))
                        # Untimed: the level stays where it is.
                        self.helper(world, c, "erase", new)
                        if c is self.patrol and target == 10_000:
                            # The floor: gnome-keyring's `CreateItem` alone.
                            client = bare[n if n == 1 else 10_000]
                            item, ns = client.create(f"floor-{i}", user, token(i))
                            client.delete(item)
                            if i:
                                self.times.setdefault(("scale-floor", level, "patrol"), []).append(ns)
                        if c is self.patrol:
                            for _ in range(OWN_SAMPLES):
                                own = self.own_share(world, c, request(hit, capabilities=True))
                                if i and own is not None:
                                    self.times.setdefault(("scale-own", level, c.name), []).append(own)
                            traced = request(f"own-{target}-{i}.example.com", user, token(i), capabilities=True)
                            own = self.own_share_of_store(world, c, traced)
                            self.helper(world, c, "erase", traced)
                            if i and own is not None:
                                self.times.setdefault(("scale-own-store", level, c.name), []).append(own)
            report(target)
        if stored == 10_000:
            for _ in range(MEMORY_RUNS):
                for c in alive:
                    self.peak_rss(
                        many[c.name], c, "get", request(hit, capabilities=True), ("rss", "get, 10,000 stored", c.name)
                    )
        for client in bare.values():
            client.close()
        for world in [*one.values(), *many.values()]:
            world.stop()

    # The same on the kernel keyring, a keychain whose own lookups do not
    # grow with what it holds: patrol alone, one world of one credential and
    # one of KERNEL_SCALE, paired. Runs only inside a private user namespace
    # and session keyring (see `kernel_part`), as the keys also go into the
    # namespace's persistent keyring.
    def kernel(self):
        one, many = World(self.root, "kernel-one"), World(self.root, "kernel-many")
        for world in (one, many):
            (world.home / ".gitconfig").write_text("[patrol]\n\tbackend = keyutils\n")
        user, secret = "alice", token(1)
        hit = "hit.example.com"
        for world in (one, many):
            self.helper(world, self.patrol, "store", request(hit, user, secret))
        started = time.monotonic()
        for i in range(1, KERNEL_SCALE):
            self.helper(many, self.patrol, "store", request(f"stored-{i}.example.com", user, token(i)))
            if i % 1000 == 0:
                progress(f"kernel: {i}/{KERNEL_SCALE} stored ({time.monotonic() - started:.0f} s)")
        progress(f"kernel: timing get (hit) and store (new), {self.args.rounds} rounds")
        for i in range(self.args.rounds + 1):
            for world, n in rotate([(one, 1), (many, KERNEL_SCALE)], i):

                def row(what):
                    return (what, n, "patrol") if i else None

                self.helper(world, self.patrol, "get", request(hit, capabilities=True), secret, row("kernel"))
                new = request(f"new-{i}.example.com", user, token(i), capabilities=True)
                self.helper(world, self.patrol, "store", new, None, row("kernel-store"))
                self.helper(world, self.patrol, "erase", new)

    # A lost index rebuilt from the keychain: patrol alone, one world whose
    # keyring keeps its items in memory but whose HOME, and so the index,
    # is on disk (every shard written is synced, as on a person's machine),
    # filled by `import` of plaintext files (250 credentials a
    # process, much faster than one `store` each); then, each round, the index directory deleted
    # and `list` timed: it finds the index lost, lists every item of
    # patrol's in the keychain, reads each, and writes a shard per host,
    # then lists them.
    def rebuild(self):
        count = self.args.rebuild_count
        world = World(self.root, "rebuild")
        self.worlds.append(world)
        world.start(login=False)
        world.keep_in_memory()
        plaintext = world.home / ".git-credentials"
        started = time.monotonic()
        # In parts, so that no one process runs into `run_timed`'s bound.
        for first in range(0, count, REBUILD_IMPORT):
            last = min(first + REBUILD_IMPORT, count)
            lines = (f"https://user{n}:{token(n)}@h{n}.rebuild.example.com\n" for n in range(first, last))
            plaintext.write_text("".join(lines))
            plaintext.chmod(0o600)
            result = world.run([self.patrol.program, "import", "--keep-plaintext"], b"")
            check(result, "patrol", "import", None)
            progress(f"rebuild: {last:,}/{count:,} imported ({time.monotonic() - started:.0f} s)")
        imported = time.monotonic() - started
        index = world.home / ".local/share/git-credential-patrol/index"
        if not (index / "complete").exists():
            raise RuntimeError(f"no index at {index} after the import")
        times, floors = [], []
        bare = BareClient(world)
        for i in range(REBUILD_ROUNDS):
            shutil.rmtree(index)
            result = world.run([self.patrol.program, "list", "--json"], b"")
            check(result, "patrol", "list", None)
            listed = len(json.loads(result.out)["credentials"])
            if listed != count:
                raise RuntimeError(f"list after the rebuild shows {listed} credentials, not {count}")
            times.append(result.ns)
            read, ns, listed = bare.read_every_item("git-credential-patrol")
            if read != count:
                raise RuntimeError(f"the bare client found {read} items, not {count}")
            floors.append((ns, listed))
            progress(
                f"rebuild: round {i + 1}/{REBUILD_ROUNDS}: {result.ns / 1e9:.2f} s; "
                f"the keychain's reads alone {ns / 1e9:.2f} s, the listing {listed / 1e9:.2f} s"
            )
        bare.close()
        world.stop()
        return count, imported, times, floors

    def trace(self, world, contender, op, data):
        """The lines of patrol's trace of one untimed `op`."""
        trace = Path(world.dir) / "trace"
        trace.unlink(missing_ok=True)
        env = dict(world.env, GIT_CREDENTIAL_PATROL_TRACE=str(trace))
        subprocess.run(
            [contender.program, op], input=data, env=env, cwd=world.home, capture_output=True, check=True
        )
        return trace.read_text().splitlines()

    def own_share(self, world, contender, data):
        """What patrol spends on a get apart from git config's child process
        and the keychain's lookup, in ns, from its own trace: from its start
        to its decision about git config (the request, the index, and
        looking for a patrol key in git's configuration), plus from git
        config's answer (or that decision, when it ran none) to the
        keychain opened (the settings)."""
        times = {}
        for line in self.trace(world, contender, "get", data):
            found = re.match(
                r"patrol:\s+([0-9.]+) ms  (git-credential-patrol|git config:|git config --get-regexp|opened)",
                line,
            )
            if found:
                times.setdefault(found.group(2), float(found.group(1)))
        if not {"git-credential-patrol", "git config:", "opened"} <= times.keys():
            return None
        decided = times["git config:"]
        answered = times.get("git config --get-regexp", decided)
        own = decided - times["git-credential-patrol"] + times["opened"] - answered
        return int(own * 1e6)

    def own_share_of_store(self, world, contender, data):
        """What patrol spends on a `store` of a new credential apart from
        git config's child process and its keychain calls, in ns, from its
        trace: the time to its last line, less `git config` (from its
        decision to run it to its answer; none when it ran none) and each
        keychain call's own time ("done in")."""
        stamps, decided, config, keychain = [], None, 0.0, 0.0
        for line in self.trace(world, contender, "store", data):
            found = re.match(r"patrol:\s+([0-9.]+) ms  (.*)", line)
            if not found:
                continue
            at, what = float(found.group(1)), found.group(2)
            if what.startswith("git config:") and decided is None:
                decided = at
            elif what.startswith("git config --get-regexp") and decided is not None and not config:
                config = at - decided
            spent = re.match(r"keychain .*: done in ([0-9.]+) ms$", what)
            if spent:
                keychain += float(spent.group(1))
            stamps.append(at)
        if decided is None or not stamps:
            return None
        return int((stamps[-1] - config - keychain) * 1e6)

    def populate(self, worlds, contenders, have, want):
        """Stores credentials through each helper's own `store` until it
        holds `want`, the helpers side by side, showing progress. Returns a
        KeyringGone for each helper whose keyring daemon died meanwhile."""
        started = time.monotonic()
        contenders = list(contenders)
        gone = []
        for n in range(have, want):
            data = request(f"h{n}.scale.example.com", f"user{n}", token(n))
            children = [
                subprocess.Popen(
                    [c.program, "store"],
                    env=worlds[c.name].env,
                    cwd=worlds[c.name].home,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                for c in contenders
            ]
            for c, child in zip(list(contenders), children):
                _, err = child.communicate(data, timeout=120)
                if child.returncode == 0:
                    continue
                world = worlds[c.name]
                keyring = world.daemons[1].poll()
                said = (world.dir / "keyring.log").read_text(errors="replace").strip()
                said = " | ".join(said.splitlines()[-3:]) or "nothing"
                if keyring is None:
                    # Still running but no longer serving: the store's own
                    # message says how.
                    said = f"{err.decode(errors='replace').strip()}; the daemon's log: {said}"
                gone.append(KeyringGone(c, n, want, keyring, said))
                contenders.remove(c)
            if not contenders:
                break
            done = n + 1 - have
            if done % 500 == 0 or n + 1 == want:
                elapsed = time.monotonic() - started
                left = elapsed / done * (want - n - 1)
                progress(
                    f"scale: {n + 1}/{want} credentials stored in each helper "
                    f"({elapsed:.0f} s, about {left:.0f} s left)"
                )
        return gone


class KeyringGone:
    """A helper's keyring daemon died, or stopped serving, under the load of
    filling it (`status` None: still running)."""

    def __init__(self, contender, stored, want, status, said):
        self.contender = contender
        self.stored = stored
        self.want = want
        self.status = status
        self.said = said

    def __str__(self):
        if self.status is None:
            return (
                f"{self.contender.name}'s store failed with its gnome-keyring-daemon still "
                f"running, with {self.stored:,} of its credentials stored, so its "
                f"{self.want:,} level could not be measured (the store said: {self.said})"
            )
        return (
            f"{self.contender.name}'s gnome-keyring-daemon exited (status {self.status}) "
            f"with {self.stored:,} of its credentials stored, so its {self.want:,} level "
            f"could not be measured (its last words: {self.said})"
        )


def rotate(items, i):
    k = i % len(items)
    return items[k:] + items[:k]


def check(result, who, op, expect):
    if result.code != 0:
        raise RuntimeError(
            f"{who} {op} exited with {result.code}: {result.err.decode(errors='replace').strip()}"
        )
    if expect is None:
        return
    if expect == b"":
        if result.out.strip():
            raise RuntimeError(f"{who} {op} answered on a miss")
    elif f"password={expect}".encode() not in result.out:
        raise RuntimeError(f"{who} {op} did not return the stored token")


# The report.


def ms(values):
    return statistics.median(values) / 1e6


def fmt_ms(value):
    return "—" if value is None else f"{value:.2f}"


def fmt_ratio(value):
    return "—" if value is None else f"{value:.2f}×"


def verdict(ok):
    return "**PASS**" if ok else "**MISS**"


def report_peers(bench, info, command, results):
    """The header, the table against the peers and their peak memory."""
    lines = []
    say = lines.append
    say(f"Command: `{command}`  ")
    say(
        f"Machine: {info['cpu']}, {info['cores']} cores, Linux {info['kernel']}, "
        f"{info['distro']}; {info['git']}; gnome-keyring {info['keyring']}; "
        f"libsecret {info['libsecret']}  "
    )
    say(f"Rounds: {bench.args.rounds} per row, interleaved and paired; medians of wall time from spawn to exit.")
    say("")
    say("| operation | patrol (ms) | libsecret (ms) | credential-store (ms) | patrol / libsecret | patrol / credential-store | target | result |")
    say("|---|---:|---:|---:|---:|---:|---|---|")
    t = bench.times

    def med(row, who):
        values = t.get(("peers", row, who))
        return ms(values) if values else None

    libsecret_unchanged = med("store (unchanged)", "libsecret")
    for row in [
        "get (hit)",
        "get (miss)",
        "store (new)",
        "store (unchanged)",
        "store (unchanged, state[] handed back)",
        "erase",
        "git credential fill",
    ]:
        p, l, s = med(row, "patrol"), med(row, "libsecret"), med(row, "credential-store")
        if row.startswith("store (unchanged"):
            l_ref = libsecret_unchanged
        else:
            l_ref = l
        ratio_l = p / l_ref if p and l_ref else None
        ratio_s = p / s if p and s else None
        target, result = "", ""
        if row == "get (hit)":
            target = f"≤ {TARGETS['get']}× libsecret"
            result = verdict(ratio_l <= TARGETS["get"])
            results.append((f"get ≤ {TARGETS['get']}× libsecret", result))
        elif row.startswith("store (unchanged"):
            target = f"≤ {TARGETS['store']}× libsecret's unchanged store"
            result = verdict(ratio_l <= TARGETS["store"])
            results.append((f"{row} ≤ {TARGETS['store']}× libsecret", result))
        say(
            f"| {row} | {fmt_ms(p)} | {fmt_ms(l)} | {fmt_ms(s)} | {fmt_ratio(ratio_l)} "
            f"| {fmt_ratio(ratio_s)} | {target} | {result} |"
        )

    say("")
    memory_table(bench, say, results, ["get", "store (new)", "store (unchanged)", "store (unchanged, state[] handed back)", "erase"])
    return "\n".join(lines)


def report_keepassxc(bench, results):
    """`get` on KeePassXC next to libsecret on the same provider."""
    lines = [
        f"`get` on KeePassXC ({keepassxc_version()}), patrol and libsecret on the same "
        "headless KeePassXC, one credential each:",
        "",
        "| operation | patrol (ms) | libsecret (ms) | patrol / libsecret |",
        "|---|---:|---:|---:|",
    ]
    for row in ("get (hit)", "get (miss)"):
        p = bench.times.get(("keepassxc", row, "patrol"))
        l = bench.times.get(("keepassxc", row, "libsecret"))
        p, l = (ms(p) if p else None), (ms(l) if l else None)
        ratio = p / l if p and l else None
        lines.append(f"| {row} | {fmt_ms(p)} | {fmt_ms(l)} | {fmt_ratio(ratio)} |")
        if row == "get (hit)":
            goal = TARGETS["get_keepassxc"]
            results.append((f"get on KeePassXC ≤ {goal}× libsecret", verdict(ratio <= goal)))
    lines.append("")
    return "\n".join(lines)


def keepassxc_version():
    try:
        out = subprocess.run(["keepassxc-cli", "--version"], capture_output=True, text=True)
        return out.stdout.strip() or "version unknown"
    except OSError:
        return "version unknown"


def scale_header():
    return (
        "`get` (hit), `get` (miss) and `store` (new) with N credentials stored by each helper, "
        "each level timed in pairs against a world holding one (medians; `own` is patrol's "
        "own share, from its trace: of a `get` (hit), reading the request and the index, and "
        "the settings; of a `store` (new), everything but `git config`'s child process and "
        "the keychain's calls). N / one is each helper's growth, with the milliseconds it adds:\n\n"
        "| N | operation | patrol, one (ms) | patrol, N (ms) | patrol N / one | libsecret, one (ms) "
        "| libsecret, N (ms) | libsecret N / one | target | result |\n"
        "|---:|---|---:|---:|---:|---:|---:|---:|---|---|"
    )


SCALE_ROWS = (
    ("scale", "get (hit)", "scale", "get with 10,000 ≤ 1.3× one"),
    ("scale-miss", "get (miss)", "scale_miss", "get (miss) with 10,000 ≤ 1.1× one"),
    # No client avoids gnome-keyring's own growth on a new item (its
    # `CreateItem` walks the collection and announces its whole item list):
    # patrol's store (new) is held to libsecret's growth.
    ("scale-store", "store (new)", None, "store (new) with 10,000: N / one ≤ libsecret's"),
)


def scale_row(bench, n, results):
    def cells(kind, who):
        one, many = bench.times.get((kind, (1, n), who)), bench.times.get((kind, n, who))
        if not one or not many:
            return None, "— | — | —"
        ratio = ms(many) / ms(one)
        added = ms(many) - ms(one)
        return ratio, f"{fmt_ms(ms(one))} | {fmt_ms(ms(many))} | {fmt_ratio(ratio)} ({added:+.1f} ms)"

    lines = []
    floor, floor_cells = cells("scale-floor", "patrol")
    for kind, name, goal, label in SCALE_ROWS:
        patrol, patrol_cells = cells(kind, "patrol")
        libsecret, libsecret_cells = cells(kind, "libsecret")
        target, result = "", ""
        if n == 10_000 and patrol is not None and goal is None:
            target = "≤ libsecret's N / one"
            result = verdict(patrol <= libsecret) if libsecret is not None else "not measured"
            results.append((label, result))
        elif n == 10_000 and patrol is not None:
            target = f"≤ {TARGETS[goal]}× one"
            result = verdict(patrol <= TARGETS[goal])
            results.append((label, result))
        lines.append(f"| {n:,} | {name} | {patrol_cells} | {libsecret_cells} | {target} | {result} |")
    if floor is not None:
        lines.append(
            f"| {n:,} | floor: gnome-keyring's `CreateItem` alone, a bare client in patrol's worlds "
            f"| {floor_cells} | — | — | — | | |"
        )
    for kind, op, case in (("scale-own", "get", "hit"), ("scale-own-store", "store", "new")):
        one, many = bench.times.get((kind, (1, n), "patrol")), bench.times.get((kind, n, "patrol"))
        if not one or not many:
            continue
        extra = ms(many) - ms(one)
        target, result = "", ""
        if n == 10_000:
            target = f"≤ {TARGETS['own_ms']} ms beyond one"
            result = verdict(extra <= TARGETS["own_ms"])
            results.append((f"patrol's own share of {op} with 10,000 ≤ 0.2 ms beyond one", result))
        lines.append(
            f"| {n:,} | own ({op}, {case}) | {ms(one):.3f} | {ms(many):.3f} | {extra:+.3f} ms "
            f"| — | — | — | {target} | {result} |"
        )
    return "\n".join(lines)


KERNEL_ROWS = (
    ("kernel", "get (hit)", "scale", "get with 10,000 on the kernel keyring ≤ 1.3× one"),
    ("kernel-store", "store (new)", "scale_store", "store (new) with 10,000 on the kernel keyring ≤ 1.5× one"),
)


def report_kernel(bench, results):
    lines = [
        f"`get` (hit) and `store` (new) of patrol on the kernel keyring (`patrol.backend = keyutils`), "
        f"with {KERNEL_SCALE:,} credentials stored, timed in pairs against a world holding one "
        "(medians; a private user namespace and session keyring):",
        "",
        "| operation | one (ms) | N (ms) | N / one | target | result |",
        "|---|---:|---:|---:|---|---|",
    ]
    for kind, name, goal, label in KERNEL_ROWS:
        one, many = bench.times.get((kind, 1, "patrol")), bench.times.get((kind, KERNEL_SCALE, "patrol"))
        ratio = ms(many) / ms(one)
        result = verdict(ratio <= TARGETS[goal])
        results.append((label, result))
        lines.append(
            f"| {name} | {fmt_ms(ms(one))} | {fmt_ms(ms(many))} | {fmt_ratio(ratio)} "
            f"| ≤ {TARGETS[goal]}× one | {result} |"
        )
    lines.append("")
    return "\n".join(lines)


def kernel_part(args):
    """Runs the kernel part in a private user namespace and session keyring
    (`unshare --user --map-root-user keyctl session -`), printing its table
    and returning its results; says why not where the kernel refuses."""
    argv = [
        "unshare", "--user", "--map-root-user", "keyctl", "session", "-",
        sys.executable, __file__, "--only", "kernel-inside",
        "--patrol", args.patrol, "--rounds", str(args.rounds), "--command", args.command,
    ]
    env = dict(os.environ, PATROL_BENCH_OUTER_USERNS=os.readlink("/proc/self/ns/user"))
    inner = subprocess.run(argv, env=env, stdout=subprocess.PIPE, text=True)
    table, _, results = inner.stdout.rpartition("RESULTS ")
    print(table, end="", flush=True)
    if inner.returncode != 0 or not results:
        why = f"`unshare --user --map-root-user keyctl session -` exited with {inner.returncode}"
        print(f"Kernel keyring not measured: {why}.\n", flush=True)
        return [(label, "not measured") for _, _, _, label in KERNEL_ROWS]
    return [tuple(pair.split("=", 1)) for pair in results.strip().split(";")]


def report_rebuild(count, imported, times, floors, results):
    """The rebuild table: each round's time, and the median against the
    target and against the floor, what the keychain's reads alone take."""
    median = statistics.median(times) / 1e9
    floor = statistics.median(f for f, _ in floors) / 1e9
    listing = statistics.median(listed for _, listed in floors) / 1e9
    target = TARGETS["rebuild_s"]
    name = f"rebuild of a lost index with {count:,} ≤ {target:.0f} s"
    ok = median <= target
    if count == REBUILD_SCALE:
        results.append((name, verdict(ok)))
    rounds = ", ".join(f"{t / 1e9:.2f}" for t in times)
    return "\n".join(
        [
            f"A lost index rebuilt from the keychain (gnome-keyring, in-memory collection): "
            f"{count:,} credentials stored by `import` in {imported:.0f} s; then, "
            f"{len(times)} times, the index deleted and `list` timed.",
            "",
            "| credentials | rebuild + list, each round (s) | median (s) | target | result |",
            "|---:|---|---:|---|---|",
            f"| {count:,} | {rounds} | {median:.2f} | ≤ {target:.0f} s at {REBUILD_SCALE:,} | "
            f"{verdict(ok) if count == REBUILD_SCALE else '—'} |",
            "",
            f"The floor, after each round: a bare client on an open connection asks gnome-keyring "
            f"for what any rebuild needs (one search, each item's attributes, 64 calls in flight, "
            f"and the secrets, a thousand to a call): {', '.join(f'{f / 1e9:.2f}' for f, _ in floors)} s, "
            f"median {floor:.2f} s, of which the search and the attributes {listing:.2f} s; "
            f"patrol's rebuild and `list` take {median / floor:.2f}× that ({median - floor:+.2f} s).",
            "",
        ]
    )


def report_scale_memory(bench, results):
    lines = [""]
    memory_table(bench, lines.append, results, ["get, 10,000 stored"])
    return "\n".join(lines)


def memory_table(bench, say, results, rows):
    rows = [row for row in rows if ("rss", row, "patrol") in bench.rss]
    if not rows:
        return
    say("Peak resident memory of one helper process (GNU time's %M, the maximum over "
        f"{MEMORY_RUNS} runs each):")
    say("")
    say("| process | patrol (MB) | libsecret (MB) | credential-store (MB) | target | result |")
    say("|---|---:|---:|---:|---|---|")
    for row in rows:
        peaks = {}
        for who in ("patrol", "libsecret", "credential-store"):
            values = bench.rss.get(("rss", row, who))
            peaks[who] = max(values) / 1024 if values else None
        if peaks["patrol"] is None:
            continue
        ok = peaks["patrol"] * 1024 <= TARGETS["rss_kb"]
        results.append((f"peak RSS of {row} ≤ 10 MB", verdict(ok)))
        say(
            f"| {row} | {fmt_ms(peaks['patrol'])} | {fmt_ms(peaks['libsecret'])} "
            f"| {fmt_ms(peaks['credential-store'])} | ≤ 10 MB | {verdict(ok)} |"
        )
    say("")


def machine_info():
    def first(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "unknown"

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    distro = "unknown"
    try:
        text = Path("/etc/os-release").read_text()
        distro = re.search(r'^PRETTY_NAME="?([^"\n]*)', text, re.M).group(1)
    except (OSError, AttributeError):
        pass
    keyring = first(["gnome-keyring-daemon", "--version"]).replace("gnome-keyring-daemon:", "").strip()
    return {
        "cpu": re.sub(r"\s+", " ", cpu),
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "distro": distro,
        "git": first(["git", "--version"]),
        "keyring": keyring,
        "libsecret": first(["pkg-config", "--modversion", "libsecret-1"]),
    }


def build_libsecret(root):
    """git-credential-libsecret from the source Debian's git package ships."""
    src = Path("/usr/share/doc/git/contrib/credential/libsecret")
    work = Path(root) / "libsecret"
    work.mkdir()
    for name in ("git-credential-libsecret.c", "git-credential-libsecret.c.gz"):
        if (src / name).exists():
            shutil.copy(src / name, work / name)
    if (work / "git-credential-libsecret.c.gz").exists():
        subprocess.run(["gzip", "-d", str(work / "git-credential-libsecret.c.gz")], check=True)
    if not (work / "git-credential-libsecret.c").exists():
        raise RuntimeError(f"no git-credential-libsecret.c under {src}: is Debian's git package installed?")
    flags = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "glib-2.0", "libsecret-1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    program = work / "git-credential-libsecret"
    subprocess.run(
        ["gcc", "-O2", "-o", str(program), str(work / "git-credential-libsecret.c"), *flags],
        check=True,
    )
    return str(program)


def main():
    parser = argparse.ArgumentParser(prog="scripts/bench")
    parser.add_argument(
        "--rounds",
        type=int,
        default=int(os.environ.get("BENCH_ROUNDS", 40)),
        help="timed rounds per row (default 40, or $BENCH_ROUNDS)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="skip the 10,000-credential case and the kernel keyring"
    )
    parser.add_argument(
        "--only",
        choices=["peers", "keepassxc", "scale", "kernel", "rebuild", "kernel-inside"],
        help="run only the table against the peers, only get on KeePassXC, only get with many "
        "credentials, only that on the kernel keyring, or only the rebuild of a lost index",
    )
    parser.add_argument(
        "--rebuild-count",
        type=int,
        default=REBUILD_SCALE,
        help=f"credentials stored for the rebuild part (default {REBUILD_SCALE:,})",
    )
    parser.add_argument("--patrol", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--command", default="scripts/bench", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not 3 <= args.rounds <= MAX_ROUNDS:
        parser.error(f"--rounds must be between 3 and {MAX_ROUNDS}")

    def stop_on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)

    root = tempfile.mkdtemp(prefix="patrol-bench")
    bench = None
    try:
        exec_path = subprocess.run(
            ["git", "--exec-path"], capture_output=True, text=True, check=True
        ).stdout.strip()
        tools = {
            "patrol": str(Path(args.patrol).resolve()),
            # The kernel keyring has no libsecret to compare with.
            "libsecret": build_libsecret(root) if args.only != "kernel-inside" else None,
            "credential-store": str(Path(exec_path) / "git-credential-store"),
        }
        if args.only == "kernel-inside":
            return kernel_inside(args, root, tools)
        bench = Bench(args, root, tools)
        # Each part is printed as soon as it is measured.
        results = []
        if args.only in (None, "peers"):
            bench.peers()
            print(report_peers(bench, machine_info(), args.command, results), flush=True)
        if args.only in (None, "keepassxc"):
            if args.only == "keepassxc":
                print(f"Command: `{args.command}`\n", flush=True)
            bench.keepassxc()
            print(report_keepassxc(bench, results), flush=True)
        if args.only in (None, "scale"):
            if args.only == "scale":
                print(f"Command: `{args.command}`\n", flush=True)
            print(scale_header(), flush=True)
            bench.scale(lambda n: print(scale_row(bench, n, results), flush=True))
            for gone in bench.gone:
                print(f"\n{str(gone)[0].upper()}{str(gone)[1:]}.", flush=True)
            if bench.patrol in [gone.contender for gone in bench.gone]:
                results.append(("get with 10,000 ≤ 1.3× one", "not measured"))
            print(report_scale_memory(bench, results), flush=True)
        if args.only == "kernel" or (args.only is None and not args.quick):
            if args.only == "kernel":
                print(f"Command: `{args.command}`\n", flush=True)
            results.extend(kernel_part(args))
        if args.only == "rebuild" or (args.only is None and not args.quick):
            if args.only == "rebuild":
                print(f"Command: `{args.command}`\n", flush=True)
            print(report_rebuild(*bench.rebuild(), results), flush=True)
        print("Targets: " + "; ".join(f"{name}: {res}" for name, res in results))
    except KeyboardInterrupt:
        progress("interrupted; stopping what was started")
        return 130
    finally:
        if bench:
            bench.stop()
        shutil.rmtree(root, ignore_errors=True)
    return 0


def kernel_inside(args, root, tools):
    """The kernel part, once `kernel_part` has entered a private user
    namespace and session keyring: refuses to run anywhere else, so that no
    key reaches the persistent keyring of a real user."""
    outer = os.environ.get("PATROL_BENCH_OUTER_USERNS")
    if not outer or os.readlink("/proc/self/ns/user") == outer:
        progress("kernel: not in a private user namespace; refusing to store keys")
        return 1
    bench = Bench(args, root, tools)
    try:
        bench.kernel()
        results = []
        print(report_kernel(bench, results), flush=True)
        print("RESULTS " + ";".join(f"{name}={res}" for name, res in results), flush=True)
    finally:
        bench.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
