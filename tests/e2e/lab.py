"""The lab: several Docker hosts on one machine, as in ../shared/LAB.md.

One network namespace per host on a shared bridge that plays the LAN, each with its own dockerd
and `berth agent --network macvlan:eth0`; a 3-member etcd cluster and the berth server in the
root namespace. It can cut a host off the LAN, bring it back, kill its agent or dockerd, and
tears everything down by name, so a run interrupted half-way is cleaned by the next one.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

from harness import (BERTH, Berth, Dockerd, Etcd, EtcdTls, EtcdUsers, Process, etcd_healthy,
                     free_port, wait_until)

CLIENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients")

BRIDGE = "berth-lan"
LAN_PREFIX = "10.77"
GATEWAY = f"{LAN_PREFIX}.0.1"


def sh(*args, check=True):
    return subprocess.run(args, capture_output=True, text=True, check=check)


def remove_leftovers():
    """Removes the lab of an earlier run by its names: namespaces, links, mounts, folders."""
    for pidfile in subprocess.run("ls /tmp/berth-lab-*/h*/docker/docker.pid 2>/dev/null",
                                  shell=True, capture_output=True, text=True).stdout.split():
        try:
            os.kill(int(open(pidfile).read().strip()), 9)
        except (OSError, ValueError):
            pass
    subprocess.run("pkill -9 -f 'berth-lab-' ", shell=True, capture_output=True)
    for ns in sh("ip", "netns", "list", check=False).stdout.split("\n"):
        name = ns.split(" ")[0]
        if name.startswith("berth-h"):
            sh("ip", "netns", "del", name, check=False)
    for link in sh("ip", "-o", "link", "show", check=False).stdout.splitlines():
        name = link.split(":")[1].strip().split("@")[0]
        if name.startswith("bveth") or name == BRIDGE:
            sh("ip", "link", "del", name, check=False)
    for d in subprocess.run("ls -d /tmp/berth-lab-* 2>/dev/null", shell=True,
                            capture_output=True, text=True).stdout.split():
        for m in reversed(open("/proc/mounts").read().split("\n")):
            parts = m.split()
            if len(parts) > 1 and parts[1].startswith(d):
                sh("umount", "-l", parts[1], check=False)
        shutil.rmtree(d, ignore_errors=True)


class EtcdCluster(EtcdUsers):
    """Three etcd members in the root namespace, reachable from every host."""

    def __init__(self, workdir, members=3):
        self.workdir = workdir
        self.members = []
        for i in range(members):
            self.members.append({"name": f"e{i}", "client": free_port(), "peer": free_port(),
                                 "proc": None})
        self.initial = ",".join(f"{m['name']}=https://{GATEWAY}:{m['peer']}" for m in self.members)
        for i in range(members):
            self.start(i, new=True)
        wait_until(self.healthy, 30, "etcd cluster to form")
        self.lock()

    @property
    def endpoint(self):
        return self.endpoints

    @property
    def endpoints(self):
        return ",".join(f"https://{GATEWAY}:{m['client']}" for m in self.members)

    def start(self, i, new=False):
        m = self.members[i]
        # TLS with client certificates on both ports: the hosts' containers share the LAN with
        # etcd, and only berth may reach it.
        client, peer = f"https://{GATEWAY}:{m['client']}", f"https://{GATEWAY}:{m['peer']}"
        m["proc"] = Process(["etcd", "--name", m["name"],
                             "--data-dir", f"{self.workdir}/etcd-{m['name']}",
                             "--listen-client-urls", client, "--advertise-client-urls", client,
                             *EtcdTls.server_args(peer=True),
                             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                             "--initial-cluster", self.initial,
                             "--initial-cluster-state", "new",
                             "--heartbeat-interval", "100", "--election-timeout", "1000",
                             "--log-level", "warn"],
                            f"{self.workdir}/etcd-{m['name']}.log")

    def healthy(self):
        return all(etcd_healthy(f"https://{GATEWAY}:{m['client']}") for m in self.members)

    def kill(self, i):
        self.members[i]["proc"].kill()

    get_prefix = Etcd.get_prefix  # etcdctl takes the members as a comma-separated list

    def stop(self):
        for m in self.members:
            if m["proc"]:
                m["proc"].stop()


class Host:
    """One simulated Docker host: a network namespace, its dockerd and its agent."""

    def __init__(self, lab, index):
        self.lab, self.index = lab, index
        self.name = f"h{index}"
        self.ns = f"berth-h{index}"
        self.address = f"{LAN_PREFIX}.0.{10 + index}"
        self.veth = f"bveth{index}"
        self.dir = os.path.join(lab.workdir, self.name)
        os.makedirs(self.dir)
        sh("ip", "netns", "add", self.ns)
        sh("ip", "link", "add", self.veth, "type", "veth", "peer", "name", "eth0", "netns", self.ns)
        sh("ip", "link", "set", self.veth, "master", BRIDGE, "up")
        self.exec("ip", "addr", "add", f"{self.address}/16", "dev", "eth0")
        self.exec("ip", "link", "set", "eth0", "up")
        self.exec("ip", "link", "set", "lo", "up")
        self.data_root = os.path.join(self.dir, "docker", "data")
        if lab.volumes_mb:
            # The host's Docker data (images, containers, volumes) on a disk of its own, so that
            # a test can fill that disk, and only that one, as a host's disk fills up in real
            # life. The whole data root: dockerd bind-mounts a data root that is not a mount
            # point onto itself, which would hide a file system mounted below it.
            image = os.path.join(self.dir, "disk.img")
            sh("truncate", "-s", f"{lab.volumes_mb}M", image)
            sh("mkfs.ext4", "-q", "-F", "-m", "0", image)  # no blocks kept back for root
            os.makedirs(self.data_root)
            sh("mount", "-o", "loop", image, self.data_root)
        self.dockerd = Dockerd(self.dir, wrap=self.nsenter)
        self.agent = None

    def nsenter(self, argv):
        # nsenter, not `ip netns exec`: that remounts /sys and dockerd loses the cgroups.
        return ["nsenter", f"--net=/var/run/netns/{self.ns}", *argv]

    def exec(self, *argv):
        return sh(*self.nsenter(list(argv)))

    def writer_inside(self, engine, password, container_id=None, address=None):
        """clients/inside_writer.py on this side of a cut: in a container's own network
        namespace, writing to its instance at 127.0.0.1, or in the host's, writing to the
        instance at address. Its stdout is a pipe."""
        if container_id:
            pid = self.dockerd.inspect(container_id)["State"]["Pid"]
            enter = ["nsenter", f"--target={pid}", "--net"]
        else:
            enter = self.nsenter([])
        return subprocess.Popen([*enter, sys.executable, os.path.join(CLIENTS, "inside_writer.py"),
                                 engine, password, *([address] if address else [])],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)

    def addresses_inside(self, container_id):
        """The IPv4 addresses on eth0 inside a container's network namespace (its own and any
        database address the agent gave it); [] when it does not run."""
        try:
            pid = self.dockerd.inspect(container_id)["State"]["Pid"]
            out = subprocess.run(["nsenter", f"--target={pid}", "--net", "ip", "-o", "-4",
                                  "addr", "show", "dev", "eth0"], capture_output=True, text=True,
                                 timeout=5).stdout if pid else ""
        except (OSError, TypeError, ValueError, KeyError, subprocess.TimeoutExpired):
            return []
        words = out.split()
        return [words[i + 1].split("/")[0] for i, w in enumerate(words[:-1]) if w == "inet"]

    def start_agent(self):
        self.agent = Process(self.nsenter([BERTH, "agent", "--etcd", self.lab.etcd.endpoints,
                                           *self.lab.etcd.login_args(self.name),
                                           "--docker-socket", self.dockerd.socket,
                                           "--name", self.name, "--advertise", self.address,
                                           "--network", "macvlan:eth0",
                                           "--lease-ttl", str(self.lab.lease_ttl),
                                           "--probe-interval-ms", str(self.lab.probe_interval_ms),
                                           "--backup-dir", self.lab.berth.backup_dir,
                                           "--secret-key-file", self.lab.berth.key_file,
                                           # h1 is in zone a, the others in zone b.
                                           "--label", f"zone={'a' if self.index == 1 else 'b'}"]),
                             os.path.join(self.dir, "agent.log"))

    def log_tail(self, lines=20):
        """The last lines of the host's agent log: what a failed wait shows of the agent."""
        try:
            with open(os.path.join(self.dir, "agent.log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError as e:
            return str(e)

    def cut(self):
        """Pulls the host's cable: nothing goes in or out of its eth0."""
        sh("ip", "link", "set", self.veth, "down")

    def restore(self):
        sh("ip", "link", "set", self.veth, "up")

    def partition(self, apart=True):
        """Takes the host off the LAN with its link up, as a switch that drops its port would:
        the host, its shim and its containers still reach each other, nothing else."""
        sh("ip", "link", "set", self.veth, *(["nomaster"] if apart else ["master", BRIDGE]))

    def cut_from_etcd(self, cut=True):
        """Drops what the host itself (its agent) sends to etcd; its containers, on macvlan,
        bypass the host's firewall and stay on the LAN. cut=False lets it through again."""
        for m in self.lab.etcd.members:
            self.exec("iptables", "-A" if cut else "-D", "OUTPUT", "-p", "tcp", "-d", GATEWAY,
                      "--dport", str(m["client"]), "-j", "DROP")

    def kill_agent(self):
        self.agent.kill()

    def fill_disk(self, full=True):
        """Takes every free byte of the host's Docker data disk (a lab made with volumes_mb),
        or gives them back (full=False)."""
        balloon = os.path.join(self.data_root, "balloon")
        if not full:
            if os.path.exists(balloon):
                os.unlink(balloon)
            return
        st = os.statvfs(self.data_root)
        # Never the machine's own disk: only a lab disk of the size asked for.
        assert st.f_blocks * st.f_frsize <= self.lab.volumes_mb * 2**20, "not the lab's disk"
        sh("fallocate", "-l", str(st.f_bavail * st.f_frsize), balloon, check=False)
        # What fallocate could not take, dd takes.
        sh("dd", "if=/dev/zero", f"of={balloon}", "bs=64k", "oflag=append", "conv=notrunc",
           check=False)
        st = os.statvfs(self.data_root)
        assert st.f_bavail * st.f_frsize < 2**20, "the lab's disk did not fill"

    def close(self):
        if self.agent:
            self.agent.stop()
        self.dockerd.stop()
        for sub in ("docker/exec", "docker/data"):
            sh("umount", "-R", "-l", os.path.join(self.dir, sub), check=False)
        sh("umount", "-l", self.data_root, check=False)  # its loop device goes with it
        sh("ip", "netns", "del", self.ns, check=False)
        sh("ip", "link", "del", self.veth, check=False)


class MultiHostLab:
    def __init__(self, hosts=3, lease_ttl=2, probe_interval_ms=200, volumes_mb=0):
        """lease_ttl and probe_interval_ms are the agents' --lease-ttl and --probe-interval-ms:
        the tests run tuned past the shipped defaults (5 s and 1,000 ms). volumes_mb: each
        host's Docker data on a file system of that size (Host.fill_disk fills it)."""
        remove_leftovers()
        self.lease_ttl = lease_ttl
        self.volumes_mb = volumes_mb
        self.probe_interval_ms = probe_interval_ms
        self.workdir = tempfile.mkdtemp(prefix="berth-lab-")
        # A default dockerd that ran on this machine may have set FORWARD to DROP, which
        # also drops bridged traffic between the simulated hosts (../shared/LAB.md).
        sh("iptables", "-P", "FORWARD", "ACCEPT", check=False)
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", f"{GATEWAY}/16", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        self.hosts = []
        try:
            self.etcd = EtcdCluster(self.workdir)
            self.berth = Berth(self.workdir, self.etcd, None, None, None)
            self.berth.start_server()
            self.berth.api("PUT", "/v1/network", {
                "subnet": f"{LAN_PREFIX}.0.0/16", "gateway": GATEWAY,
                "exclude": [f"{LAN_PREFIX}.0.0-{LAN_PREFIX}.99.255"],
                "driver": "macvlan", "docker_network": "lan"})
            for i in range(1, hosts + 1):
                self.hosts.append(Host(self, i))
            for h in self.hosts:
                h.start_agent()
            def missing():
                seen = {h["name"] for h in self.berth.api("GET", "/v1/hosts")}
                return "every agent to register; " + "; ".join(
                    f"{h.name} (agent {'alive' if h.agent and h.agent.alive() else 'gone'}) "
                    f"logged:\n{h.log_tail(10)}" for h in self.hosts if h.name not in seen)
            wait_until(lambda: len(self.berth.api("GET", "/v1/hosts")) == hosts, 30, missing)
        except BaseException:
            self.close()
            raise

    def host(self, name):
        return next(h for h in self.hosts if h.name == name)

    def close(self):
        if getattr(self, "berth", None):
            self.berth.stop()
        for h in self.hosts:
            h.close()
        if getattr(self, "etcd", None):
            self.etcd.stop()
        sh("ip", "link", "del", BRIDGE, check=False)
        keep = os.environ.get("BERTH_LAB_LOGS")  # a folder to keep every log in, for a post-mortem
        if keep:
            for root, _, files in os.walk(self.workdir):
                for f in files:
                    if f.endswith(".log"):
                        rel = os.path.relpath(os.path.join(root, f), self.workdir)
                        os.makedirs(os.path.dirname(os.path.join(keep, rel)), exist_ok=True)
                        shutil.copy(os.path.join(root, f), os.path.join(keep, rel))
        shutil.rmtree(self.workdir, ignore_errors=True)


class LabTestCase(unittest.TestCase):
    """Tests on one lab of three hosts for the whole class; every test starts with all three
    alive and none draining."""

    @classmethod
    def setUpClass(cls):
        cls.lab = MultiHostLab(hosts=3)
        cls.berth = cls.lab.berth

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def setUp(self):
        wait_until(lambda: [h["state"] for h in self.berth.api("GET", "/v1/hosts")] ==
                   ["alive"] * 3, 40, "all three hosts alive")
